"""Writes for jobs. Every state change of a Job is a conditional UPDATE, so two workers that
receive the same (redelivered) message can never both run it, and a cancel always wins over progress."""

import logging
import time
import traceback
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from jobs.errors import Cancelled, WaitForChildren
from jobs.kinds import JOB_KINDS, job_kind_get
from jobs.models import Job

log = logging.getLogger(__name__)
# A RUNNING job whose heartbeat is older than this was lost with its worker and may be claimed again.
STALE_AFTER = timedelta(minutes=15)
PROGRESS_WRITE_INTERVAL = 0.5  # seconds between progress writes (the last one is always written)


def job_create(
    *, kind: str, params: dict | None = None, user=None, parent: Job | None = None, artifact_dir: str = ""
) -> Job:
    """Create a queued job and hand it to the broker once the surrounding transaction commits."""
    job_kind_get(kind)  # raises UnknownJobKind with the list of valid kinds
    job = Job.objects.create(
        kind=kind,
        params=params or {},
        created_by=user if getattr(user, "is_authenticated", False) else None,
        parent=parent,
        artifact_dir=artifact_dir,
    )
    transaction.on_commit(lambda: job_enqueue(job_id=job.pk))
    return job


def job_enqueue(*, job_id: int) -> bool:
    """Publish "run job N" on the kind's queue. A broker outage is recorded on the job, never raised."""
    from jobs.tasks import run_job

    job = Job.objects.get(pk=job_id)
    try:
        run_job.apply_async(args=[job_id], queue=job_kind_get(job.kind).queue, retry=False)
    except Exception as exc:  # kombu/redis connection errors of many types
        from jobs.broker import masked_broker_url

        message = (
            f"Broker unreachable at {masked_broker_url()}: {exc}. "
            "The job stays queued; requeue it when the broker is back."
        )
        Job.objects.filter(pk=job_id).update(enqueue_error=message)
        log.warning("job %s not enqueued: %s", job_id, message)
        return False
    Job.objects.filter(pk=job_id).exclude(enqueue_error="").update(enqueue_error="")
    return True


def job_claim(*, job_id: int) -> bool:
    """Atomically move a job to RUNNING. False when it is not ours to run (done, cancelled, running elsewhere)."""
    now = timezone.now()
    claimable = Q(status=Job.Status.QUEUED) | Q(status=Job.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
    return bool(
        Job.objects.filter(claimable, pk=job_id).update(
            status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1, error=""
        )
    )


def job_report_progress(*, job_id: int, done: int, total: int, message: str = "") -> None:
    """Record progress; raise Cancelled when the job was cancelled (or taken away) meanwhile."""
    updated = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
        progress_done=done, progress_total=total, progress_message=message[:255], heartbeat_at=timezone.now()
    )
    if not updated:
        raise Cancelled(f"job {job_id} is no longer running")


def job_succeed(*, job_id: int, result: dict | None = None) -> bool:
    return _finish(job_id, Job.Status.SUCCEEDED, result=result or {}, progress_message="done")


def job_fail(*, job_id: int, error: str) -> bool:
    return _finish(job_id, Job.Status.FAILED, error=error)


def _finish(job_id: int, status: str, **fields) -> bool:
    return bool(
        Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
            status=status, finished_at=timezone.now(), **fields
        )
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
        _notify_parent(job_id)
    return cancelled


def job_requeue(*, job_id: int) -> bool:
    """Run a failed or cancelled job again (resumable engines pick up where it stopped), or re-send a
    queued job whose enqueue failed."""
    with transaction.atomic():
        updated = (
            Job.objects.filter(pk=job_id, status__in=Job.FINISHED)
            .exclude(status=Job.Status.SUCCEEDED)
            .update(status=Job.Status.QUEUED, error="", finished_at=None, progress_message="requeued")
        )
        resend = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).exists()
        if updated or resend:
            transaction.on_commit(lambda: job_enqueue(job_id=job_id))
    return bool(updated or resend)


def job_run(*, job_id: int, echo=None) -> str:
    """Claim and run a job in this process (the Celery task and `manage.py run_job` both call this).

    Returns the final status. Exceptions from the runner are recorded on the job, not raised.
    ``echo(done, total, message)``, when given, sees every progress report (a command's tqdm bar)."""
    if not job_claim(job_id=job_id):
        return Job.objects.filter(pk=job_id).values_list("status", flat=True).first() or "missing"
    job = Job.objects.get(pk=job_id)
    last_write = 0.0

    def progress(done: int, total: int, message: str = "") -> None:
        nonlocal last_write
        if echo is not None:
            echo(done, total, message)
        now = time.monotonic()
        if done >= total or now - last_write >= PROGRESS_WRITE_INTERVAL:
            last_write = now
            job_report_progress(job_id=job_id, done=done, total=total, message=message)

    try:
        result = job_kind_get(job.kind).runner(job, progress)
    except WaitForChildren as waiting:
        log.info("job %s waits for its sub-jobs: %s", job_id, waiting)
        return Job.objects.get(pk=job_id).status
    except Cancelled:
        log.info("job %s cancelled; finished work is kept", job_id)
    except Exception as exc:
        log.exception("job %s failed", job_id)
        job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
    else:
        job_succeed(job_id=job_id, result=result)
    _notify_parent(job_id)
    return Job.objects.get(pk=job_id).status


def _notify_parent(job_id: int) -> None:
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
        job_fail(job_id=job.parent_id, error=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
