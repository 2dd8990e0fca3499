"""Celery tasks stay thin: claim the job, run it, record the outcome (all in services.job_run)."""

from celery import shared_task


@shared_task(name="jobs.run_job", acks_late=True, reject_on_worker_lost=True)
def run_job(job_id: int) -> str:
    from jobs.services import job_run

    return job_run(job_id=job_id)
