"""The reaper brings back lost jobs. Celery beat runs it every JOBS_REAP_SECONDS (embedded in the demo
worker with -B; its own `beat` service in docker/compose.yaml). It re-sends:

- RUNNING jobs whose heartbeat is stale (the worker died: SIGKILL, OOM killer, the hard time limit);
- QUEUED jobs whose message is in no queue (never published: the broker was down; or lost: the
  filesystem broker deletes a message when a worker takes it, so a worker killed before its claim loses it);
- and wakes a parent waiting for sub-jobs none of which is active (its wake-up call was lost).

Several reapers may run at once (several machines): each step is a conditional UPDATE on the values the
reaper read, so exactly one of them wins each job and publishes it once.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from jobs import services
from jobs.broker import job_ids_in_broker
from jobs.kinds import JOB_KINDS, queue_name
from jobs.models import Job, JobAttempt, stale_after

log = logging.getLogger(__name__)


def reap(*, now=None) -> dict[str, list[int]]:
    """One pass; returns the ids it re-sent or woke (for the log, the tests and `jobs_status`)."""
    now = now or timezone.now()
    done = {"running": _resend_stale_running(now), "queued": _resend_lost_queued(now), "parents": _wake_parents(now)}
    if any(done.values()):
        log.info("reaper: %s", done)
    return done


def _resend_stale_running(now) -> list[int]:
    cutoff = now - stale_after()
    stale = Job.objects.filter(status=Job.Status.RUNNING, waiting_for_children=False, heartbeat_at__lt=cutoff)
    resent = []
    for pk, token, beat in stale.values_list("pk", "attempt_token", "heartbeat_at"):
        with transaction.atomic():
            taken = Job.objects.filter(pk=pk, status=Job.Status.RUNNING, attempt_token=token, heartbeat_at=beat).update(
                status=Job.Status.QUEUED,
                attempt_token="",
                worker="",
                enqueued_at=now,
                progress_message=f"re-sent: no heartbeat since {timezone.localtime(beat):%H:%M:%S}",
            )
            if taken:
                JobAttempt.objects.filter(token=token, outcome=JobAttempt.Outcome.RUNNING).update(
                    outcome=JobAttempt.Outcome.LOST, ended_at=now, detail="no heartbeat; the reaper re-sent the job"
                )
        if taken:
            services.job_enqueue(job_id=pk)
            resent.append(pk)
    return resent


def _resend_lost_queued(now) -> list[int]:
    cutoff = now - timedelta(seconds=settings.JOBS_LOST_AFTER_SECONDS)
    candidates = list(
        Job.objects.filter(status=Job.Status.QUEUED)
        .annotate(sent=Coalesce("enqueued_at", "created_at"))
        .filter(Q(sent__lt=cutoff) | ~Q(enqueue_error=""))
        .values("pk", "kind", "enqueued_at", "enqueue_error")
    )
    if not candidates:
        return []
    queues = {queue_name(JOB_KINDS[c["kind"]].queue) for c in candidates if c["kind"] in JOB_KINDS}
    waiting = job_ids_in_broker(sorted(queues))  # None: cannot tell; a duplicate message is harmless
    resent = []
    for c in candidates:
        if c["kind"] not in JOB_KINDS or (waiting is not None and c["pk"] in waiting):
            continue  # (a kind no app registers any more cannot run anywhere: the page says so)
        # Claim this re-send: of several reapers that read the same row, one changes it.
        taken = Job.objects.filter(
            pk=c["pk"], status=Job.Status.QUEUED, enqueued_at=c["enqueued_at"], enqueue_error=c["enqueue_error"]
        ).update(enqueued_at=now)
        if taken and services.job_enqueue(job_id=c["pk"]):
            resent.append(c["pk"])
    return resent


def _wake_parents(now) -> list[int]:
    cutoff = now - stale_after()
    woken = []
    waiting = Job.objects.filter(status=Job.Status.RUNNING, waiting_for_children=True, heartbeat_at__lt=cutoff)
    for parent in waiting.exclude(children__status__in=Job.ACTIVE).distinct():
        taken = Job.objects.filter(
            pk=parent.pk, status=Job.Status.RUNNING, waiting_for_children=True, heartbeat_at=parent.heartbeat_at
        ).update(heartbeat_at=now)
        last = parent.children.order_by("-finished_at", "-pk").first()
        if taken and last is not None:
            services.notify_parent(last.pk)
            woken.append(parent.pk)
    return woken
