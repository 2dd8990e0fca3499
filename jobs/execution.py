"""Running a claimed job in this process: the runner with its heartbeat and progress callback, then the
attempt's outcome (the Celery task, `manage.py run_job` and the command-line job trees all call `job_run`).
Every state change goes through jobs.services."""

import logging
import os
import socket
import traceback

from django.conf import settings

from common.progress import Cancelled
from jobs.attempts import AttemptProgress, Heartbeat
from jobs.errors import Superseded, WaitForChildren
from jobs.kinds import job_kind_get
from jobs.models import Job, JobAttempt
from jobs.services import (
    Attempt,
    attempt_end,
    job_claim,
    job_fail,
    job_succeed,
    job_wait_for_children,
    notify_parent,
    stop_signal,
)

log = logging.getLogger(__name__)
Outcome = JobAttempt.Outcome


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_run(*, job_id: int, echo=None, worker: str = "") -> str:
    """Claim and run a job in this process (the Celery task and `manage.py run_job` both call this).

    Returns the final status. Exceptions from the runner are recorded on the job, not raised.
    ``echo(done, total, message)``, when given, sees every progress report (a command's tqdm bar)."""
    attempt = job_claim(job_id=job_id, worker=worker or default_worker_name())
    if attempt is None:
        return Job.objects.filter(pk=job_id).values_list("status", flat=True).first() or "missing"
    job = Job.objects.get(pk=job_id)
    heartbeat = Heartbeat(attempt, interval=settings.JOBS_HEARTBEAT_SECONDS)
    heartbeat.start()
    progress = AttemptProgress(attempt, heartbeat, echo=echo)
    detail = ""
    try:
        result = job_kind_get(job.kind).runner(job, progress)
    except WaitForChildren as waiting:
        log.info("job %s waits for its sub-jobs: %s", job_id, waiting)
        outcome = Outcome.WAITING if job_wait_for_children(attempt=attempt) else _lost(attempt)
    except Superseded as exc:
        outcome, detail = Outcome.SUPERSEDED, str(exc)
    except Cancelled:
        log.info("job %s cancelled; finished work is kept", job_id)
        outcome = Outcome.CANCELLED
    except Exception as exc:
        log.exception("job %s failed", job_id)
        error = f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}"
        outcome = Outcome.FAILED if job_fail(attempt=attempt, error=error) else _lost(attempt)
        detail = error if outcome == Outcome.FAILED else ""
    else:
        outcome = Outcome.SUCCEEDED if job_succeed(attempt=attempt, result=result) else _lost(attempt)
    finally:
        heartbeat.stop()
    if outcome == Outcome.SUPERSEDED and not detail:
        detail = str(stop_signal(attempt))
    if outcome == Outcome.SUPERSEDED:
        log.warning("job %s attempt %s superseded: %s", job_id, attempt.number, detail or "a newer attempt took over")
    attempt_end(attempt=attempt, outcome=outcome, detail=detail or "")
    if outcome not in (Outcome.SUPERSEDED, Outcome.WAITING):
        notify_parent(job_id)
    return Job.objects.get(pk=job_id).status


def _lost(attempt: Attempt) -> str:
    """The outcome of an attempt whose final write did not land."""
    return Outcome.SUPERSEDED if isinstance(stop_signal(attempt), Superseded) else Outcome.CANCELLED
