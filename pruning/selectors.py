"""Reads for the pruning app."""

from django.db.models import QuerySet

from pruning.models import Job


def job_list(*, limit: int = 200) -> QuerySet[Job]:
    return Job.objects.select_related("created_by").order_by("-created_at", "-id")[:limit]


def job_status_payload(job: Job) -> dict:
    """What the job pages poll: everything a progress bar and a status badge need."""
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "percent": job.percent,
        "done": job.progress_done,
        "total": job.progress_total,
        "message": job.progress_message,
        "error": job.error.splitlines()[0] if job.error else "",
        "enqueue_error": job.enqueue_error,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
