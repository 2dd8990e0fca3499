"""Writes for jobs: their state. Every state change of a Job is a conditional UPDATE, so two workers that receive the
same (redelivered) message can never both run it, and a cancel always wins over progress.

Fencing: a claim gives the job a fresh attempt token, and every later write of that attempt (progress,
heartbeat, result, finish, fail, and the runner's own row and file writes inside ``job_fence``) lands only
while the job is RUNNING under that token. A cancel keeps the token (the attempt hears "cancelled"); a
retry, the reaper or a redelivered message clears or replaces it (the attempt hears "superseded").
Running a claimed job (the runner, its heartbeat and outcome) is jobs.execution, built on these.
"""

import contextlib
import logging
import traceback
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from common.progress import Cancelled
from config.roles import actor
from jobs.broker import RUN_JOB, app, masked_broker_url
from jobs.errors import Superseded
from jobs.kinds import JOB_KINDS, job_kind_get, queue_name
from jobs.models import Job, JobAttempt, stale_after

log = logging.getLogger(__name__)
Outcome = JobAttempt.Outcome


def job_create(
    *, kind: str, params: dict | None = None, user=None, parent: Job | None = None, artifact_dir: str = ""
) -> Job:
    """Create a queued job and hand it to the broker once the surrounding transaction commits."""
    job_kind_get(kind)  # raises UnknownJobKind with the list of valid kinds
    job = Job.objects.create(
        kind=kind,
        params=params or {},
        created_by=actor(user),
        parent=parent,
        artifact_dir=artifact_dir,
    )
    transaction.on_commit(lambda: job_enqueue(job_id=job.pk))
    return job


def job_enqueue(*, job_id: int) -> bool:
    """Publish "run job N" on the kind's queue. A broker outage is recorded on the job, never raised."""
    job = Job.objects.get(pk=job_id)
    try:
        # By the task's registered name: the worker's task module (jobs.tasks) runs jobs through
        # jobs.execution, which writes through this module, so importing it here would close a circle.
        app.send_task(RUN_JOB, args=[job_id], queue=queue_name(job_kind_get(job.kind).queue), retry=False)
        # (a kind no app registers any more raises UnknownJobKind here: recorded like a broker error)
    except Exception as exc:  # kombu/redis connection errors of many types
        message = (
            f"Waiting for the broker: unreachable at {masked_broker_url()} since "
            f"{timezone.localtime():%Y-%m-%d %H:%M:%S} ({exc}). The job stays queued; the reaper sends it "
            "when the broker is back."
        )
        Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(enqueue_error=message)
        log.warning("job %s not enqueued: %s", job_id, message)
        return False
    Job.objects.filter(pk=job_id).update(enqueue_error="", enqueued_at=timezone.now())
    return True


@dataclass(frozen=True)
class Attempt:
    """One claim of a job: the token its writes carry."""

    job_id: int
    token: str
    number: int


def job_claim(*, job_id: int, worker: str = "") -> Attempt | None:
    """Atomically move a job to RUNNING under a new attempt token. None when it is not ours to run (done,
    cancelled, or running elsewhere with a fresh heartbeat). Taking over a stale RUNNING job fences the
    old attempt: its next write finds another token."""
    now = timezone.now()
    token = uuid.uuid4().hex
    claimable = Q(status=Job.Status.QUEUED) | Q(
        status=Job.Status.RUNNING, waiting_for_children=False, heartbeat_at__lt=now - stale_after()
    )
    with transaction.atomic():
        updated = Job.objects.filter(claimable, pk=job_id).update(
            status=Job.Status.RUNNING,
            attempt_token=token,
            worker=worker[:255],
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            error="",
            enqueue_error="",
            waiting_for_children=False,
        )
        if not updated:
            return None
        number = Job.objects.filter(pk=job_id).values_list("attempts", flat=True).get()
        # An attempt still marked running was cancelled and retried, or fell silent: this one supersedes it
        # (if it is alive after all, it corrects the detail when it stops).
        JobAttempt.objects.filter(job_id=job_id, outcome=Outcome.RUNNING).update(
            outcome=Outcome.SUPERSEDED, ended_at=now, detail=f"attempt {number} took over"
        )
        JobAttempt.objects.create(job_id=job_id, number=number, token=token, worker=worker[:255])
    return Attempt(job_id=job_id, token=token, number=number)


def _current(attempt: Attempt):
    return Job.objects.filter(pk=attempt.job_id, status=Job.Status.RUNNING, attempt_token=attempt.token)


def stop_signal(attempt: Attempt) -> Cancelled:
    """Why ``attempt`` may no longer write: Cancelled (the job was cancelled under it) or Superseded."""
    row = Job.objects.filter(pk=attempt.job_id).values("status", "attempt_token").first()
    if row is None:
        return Cancelled(f"job {attempt.job_id} was deleted")
    if row["status"] == Job.Status.CANCELLED and row["attempt_token"] == attempt.token:
        return Cancelled(f"job {attempt.job_id} was cancelled")
    newer = " by a newer attempt" if row["attempt_token"] else ""
    return Superseded(
        f"job {attempt.job_id}: attempt {attempt.number} was superseded{newer} (the job is now {row['status']}); "
        "it stops without writing"
    )


def job_report_progress(*, attempt: Attempt, done: int, total: int, message: str = "") -> None:
    """Record progress (and a heartbeat); raise Cancelled or Superseded when the attempt lost the job."""
    updated = _current(attempt).update(
        progress_done=done, progress_total=total, progress_message=message[:255], heartbeat_at=timezone.now()
    )
    if not updated:
        raise stop_signal(attempt)


def job_heartbeat(*, attempt: Attempt) -> bool | None:
    """True: still ours. False: cancelled or superseded. None: this connection cannot see the job."""
    if _current(attempt).update(heartbeat_at=timezone.now()):
        return True
    return None if not Job.objects.filter(pk=attempt.job_id).exists() else False


@contextlib.contextmanager
def job_fence(*, attempt: Attempt):
    """Hold the job's row lock while the block writes (a row of the runner's app, or a file it publishes):
    no claim, retry or reaper can take the job meanwhile, and a superseded attempt writes nothing."""
    with transaction.atomic():
        if not list(_current(attempt).select_for_update().values_list("pk", flat=True)):
            raise stop_signal(attempt)
        yield


def job_succeed(*, attempt: Attempt, result: dict | None = None) -> bool:
    return _finish(attempt, Job.Status.SUCCEEDED, result=result or {}, progress_message="done")


def job_fail(*, attempt: Attempt, error: str) -> bool:
    return _finish(attempt, Job.Status.FAILED, error=error)


def _finish(attempt: Attempt, status: str, **fields) -> bool:
    """The job's end and its attempt's end, in one transaction (a reader never sees one without the other)."""
    now = timezone.now()
    with transaction.atomic():
        finished = bool(_current(attempt).update(status=status, finished_at=now, **fields))
        if finished:
            JobAttempt.objects.filter(token=attempt.token).update(outcome=status, ended_at=now)
    return finished


def job_wait_for_children(*, attempt: Attempt) -> bool:
    """The runner handed its work to sub-jobs: the job stays RUNNING with no process (and no heartbeat)."""
    return bool(_current(attempt).update(waiting_for_children=True, heartbeat_at=timezone.now()))


def attempt_end(*, attempt: Attempt, outcome: str, detail: str = "") -> None:
    """Record how an attempt ended, in its own log row: the attempt's own word is final (a row the reaper
    marked lost, or a newer claim marked superseded, is corrected by an attempt that was alive after all)."""
    JobAttempt.objects.filter(token=attempt.token).update(
        outcome=outcome, ended_at=timezone.now(), detail=detail[:2000]
    )


def job_cancel(*, job_id: int) -> bool:
    """Cancel a queued or running job and its active sub-jobs. A running job stops at its next progress
    report, keeping finished work."""
    cancelled = bool(
        Job.objects.filter(pk=job_id, status__in=Job.ACTIVE).update(
            status=Job.Status.CANCELLED, finished_at=timezone.now(), progress_message="cancelled"
        )
    )
    if cancelled:
        for child_id in Job.objects.filter(parent_id=job_id, status__in=Job.ACTIVE).values_list("pk", flat=True):
            job_cancel(job_id=child_id)
        # A queued job never reaches job_run, so tell its parent here (running ones tell it again: harmless).
        notify_parent(job_id)
    return cancelled


def job_requeue(*, job_id: int) -> bool:
    """Run a failed or cancelled job again (resumable engines pick up where it stopped), or re-send a
    queued job whose enqueue failed. A cancelled attempt still running is superseded by this."""
    with transaction.atomic():
        updated = (
            Job.objects.filter(pk=job_id, status__in=Job.FINISHED)
            .exclude(status=Job.Status.SUCCEEDED)
            .update(
                status=Job.Status.QUEUED,
                error="",
                finished_at=None,
                progress_message="requeued",
                attempt_token="",
                worker="",
                waiting_for_children=False,
            )
        )
        resend = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).exists()
        if updated or resend:
            transaction.on_commit(lambda: job_enqueue(job_id=job_id))
    return bool(updated or resend)


def notify_parent(job_id: int) -> None:
    """Call the parent kind's on_child_finished hook; a failing hook fails the parent (retry re-runs it)."""
    job = Job.objects.select_related("parent").filter(pk=job_id).first()
    if job is None or job.parent is None:
        return
    kind = JOB_KINDS.get(job.parent.kind)
    if kind is None or not kind.on_child_finished:
        return
    try:
        kind.on_child_finished(job.parent, job)
    except Exception as exc:
        log.exception("job %s: on_child_finished hook of parent %s failed", job_id, job.parent_id)
        Job.objects.filter(pk=job.parent_id, status=Job.Status.RUNNING).update(
            status=Job.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}",
        )
