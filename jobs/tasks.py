"""Celery tasks stay thin: claim the job, run it, record the outcome (all in execution.job_run); and the
reaper, which Celery beat triggers (embedded in the demo worker with -B, its own service in compose)."""

import os

from celery import shared_task

from jobs import presence  # noqa: F401 -- connects the worker-presence signals in every worker


@shared_task(name="jobs.run_job", bind=True, acks_late=True, reject_on_worker_lost=True)
def run_job(self, job_id: int) -> str:
    from jobs.execution import job_run

    return job_run(job_id=job_id, worker=f"{self.request.hostname or 'worker'}:{os.getpid()}")


@shared_task(name="jobs.reap", ignore_result=True)
def reap() -> dict:
    from jobs.reaper import reap as reap_jobs

    return reap_jobs()
