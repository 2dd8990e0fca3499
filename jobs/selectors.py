"""Reads for jobs: lists, the payload the progress bars poll, and params/results as readable text."""

from django.db.models import QuerySet

from jobs.models import Job


def job_list(*, limit: int = 200) -> QuerySet[Job]:
    return Job.objects.select_related("created_by").order_by("-created_at", "-id")[:limit]


def job_status_payload(job: Job) -> dict:
    """What the job pages poll: everything a progress bar and a status badge need."""
    return {
        "id": job.pk,
        "kind": job.kind,
        "kind_label": job.kind_label,
        "status": job.status,
        "percent": job.percent,
        "done": job.progress_done,
        "total": job.progress_total,
        "message": job.progress_message,
        "error": job.error.splitlines()[0] if job.error else "",
        "enqueue_error": job.enqueue_error,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "waiting": waiting_reason(job) if job.status == Job.Status.QUEUED else "",
    }


def job_queue(job: Job) -> str:
    from jobs.kinds import JOB_KINDS

    kind = JOB_KINDS.get(job.kind)
    return kind.queue if kind else "default"


def job_ahead(job: Job) -> Job | None:
    """The active job just before `job` on its queue (queues run first in, first out), if any."""
    queue = job_queue(job)
    ahead = (
        Job.objects.filter(status__in=Job.ACTIVE, created_at__lte=job.created_at)
        .exclude(pk=job.pk)
        .exclude(created_at=job.created_at, pk__gt=job.pk)
        .order_by("-created_at", "-pk")
    )
    # Container jobs (an experiment's parent) only coordinate: they hold no worker while children run.
    return next((j for j in ahead if job_queue(j) == queue and not j.children.exists()), None)


def waiting_reason(job: Job, label=None) -> str:
    """Why a queued job has not started, in words: "after <the job ahead of it>" or "waiting for a worker".

    `label(job)` names the job ahead (the experiment page says "seed 2 · train"); by default "#id kind"."""
    ahead = job_ahead(job)
    if ahead is None:
        return f"waiting for a worker on the {job_queue(job)} queue"
    name = label(ahead) if label else None
    return f"after {name or f'#{ahead.pk} {ahead.kind_label.lower()}'} ({ahead.status})"


def readable_key(key: str) -> str:
    """ "best_val_loss" -> "Best val loss"."""
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def readable_value(value) -> str:
    """A JSON value as a person would write it: 0.1234, "yes", "0, 1, 2", "a: 1; b: 2", "—" for none."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(readable_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{readable_key(k).lower()}: {readable_value(v)}" for k, v in value.items())
    return str(value)


def readable_fields(data: dict) -> list[tuple[str, str]]:
    """A job's params or result as (label, text) rows for a definition list."""
    return [(readable_key(k), readable_value(v)) for k, v in (data or {}).items()]
