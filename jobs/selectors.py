"""Reads for jobs: lists, the payload the progress bars poll, and params/results as readable text."""

from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from jobs.models import Job, stale_after


def jobs_visible_to(user) -> QuerySet[Job]:
    """The jobs `user` may see: all for admins; for others, every job except those of kinds that restrict
    visibility (a study's build or statistics: only the jobs of studies the user is granted)."""
    from config.roles import is_admin
    from jobs.kinds import JOB_KINDS

    if is_admin(user):
        return Job.objects.all()
    restricted = [k for k in JOB_KINDS.values() if k.visible_q is not None]
    allowed = ~Q(kind__in=[k.name for k in restricted])
    for kind in restricted:
        allowed |= Q(kind=kind.name) & kind.visible_q(user)
    return Job.objects.filter(allowed)


def job_list(*, user, limit: int = 200) -> QuerySet[Job]:
    return jobs_visible_to(user).select_related("created_by").order_by("-created_at", "-id")[:limit]


def job_status_payload(job: Job, online: dict[str, int] | None = None, waiting: str | None = None) -> dict:
    """What the job pages poll: everything a progress bar and a status badge need, and where it stands."""
    return {
        "where": job_waiting_text(job, online if online is not None else online_by_queue()),
        "id": job.pk,
        "kind": job.kind,
        "kind_label": job.kind_label,
        "status": job.status,
        "percent": job.percent,
        "done": job.progress_done,
        "total": job.progress_total,
        "message": job.progress_message,
        "error": _public(job.error),
        "enqueue_error": job.enqueue_error,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "waiting": (waiting_reason(job) if waiting is None else waiting) if job.status == Job.Status.QUEUED else "",
    }


def job_queue(job: Job) -> str:
    from jobs.kinds import JOB_KINDS

    kind = JOB_KINDS.get(job.kind)
    return kind.queue if kind else "default"


def workers_queue_order() -> dict[str, list[Job]]:
    """Active jobs that hold a worker, per queue, in the order the queue serves them (first in, first out).

    Container jobs (an experiment's parent) only coordinate: they hold no worker while their children run."""
    from django.db.models import Exists, OuterRef

    has_children = Exists(Job.objects.filter(parent=OuterRef("pk")))
    order: dict[str, list[Job]] = {}
    for j in Job.objects.filter(status__in=Job.ACTIVE).exclude(has_children).order_by("created_at", "pk"):
        order.setdefault(job_queue(j), []).append(j)
    return order


def job_ahead(job: Job, order: dict[str, list[Job]] | None = None) -> Job | None:
    """The active job just before `job` on its queue, if any."""
    line = (order if order is not None else workers_queue_order()).get(job_queue(job), [])
    ids = [j.pk for j in line]
    if job.pk not in ids:
        return line[-1] if line else None
    k = ids.index(job.pk)
    return line[k - 1] if k else None


def waiting_reasons(jobs) -> dict[int, str]:
    """`waiting_reason` of every queued job in `jobs`, from one query (the status endpoint polls often)."""
    order = workers_queue_order()
    return {j.pk: waiting_reason(j, order=order) for j in jobs if j.status == Job.Status.QUEUED}


def waiting_reason(job: Job, label=None, order: dict[str, list[Job]] | None = None) -> str:
    """Why a queued job has not started, in words: "after <the job ahead of it>" or "waiting for a worker".

    `label(job)` names the job ahead (the experiment page says "seed 2 · train"); by default "#id kind"."""
    ahead = job_ahead(job, order)
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


# --- Observability: queues, workers, why a job waits, ETA ----------------------------------------------


def _seconds_ago(when, now) -> int:
    return max(0, int((now - when).total_seconds()))


def queue_overview(*, now=None, broker: bool = True) -> list[dict]:
    """Per queue: the workers listening (online or last seen how long ago), messages waiting in the broker
    (None when it cannot be reached), and the jobs queued and running there."""
    from jobs.broker import queue_lengths
    from jobs.kinds import JOB_KINDS, queue_name
    from jobs.models import WorkerPresence

    now = now or timezone.now()
    queues = sorted({k.queue for k in JOB_KINDS.values()})
    kinds_of = {q: [k.name for k in JOB_KINDS.values() if k.queue == q] for q in queues}
    lengths = queue_lengths([queue_name(q) for q in queues]) if broker else None
    online_after = now - stale_after()
    workers = list(WorkerPresence.objects.all())
    overview = []
    for q in queues:
        listening = [
            {"name": w.name, "seen_ago": _seconds_ago(w.last_seen, now), "online": w.last_seen >= online_after}
            for w in workers
            if q in w.queues
        ]
        jobs = Job.objects.filter(kind__in=kinds_of[q])
        overview.append(
            {
                "name": q,
                "workers": listening,
                "n_online": sum(w["online"] for w in listening),
                "length": None if lengths is None else lengths[queue_name(q)],
                "queued": jobs.filter(status=Job.Status.QUEUED).count(),
                "running": jobs.filter(status=Job.Status.RUNNING, waiting_for_children=False).count(),
            }
        )
    return overview


def online_by_queue(*, now=None) -> dict[str, int]:
    """How many workers listening on each queue were seen recently (from the database; no broker call)."""
    from jobs.models import WorkerPresence

    cutoff = (now or timezone.now()) - stale_after()
    counts: dict[str, int] = {}
    for queues in WorkerPresence.objects.filter(last_seen__gte=cutoff).values_list("queues", flat=True):
        for q in queues:
            counts[q] = counts.get(q, 0) + 1
    return counts


def why_waiting(job: Job, online: dict[str, int]) -> str:
    """For a queued job: "waiting for the broker ...", "no worker listening on gpu" or "position 3 in the
    gpu queue" (among the queued jobs of that queue, oldest message first)."""
    from jobs.kinds import JOB_KINDS

    if job.status != Job.Status.QUEUED:
        return ""
    if job.enqueue_error:
        return "waiting for the broker (unreachable when the job was sent; the reaper sends it once it is back)"
    kind = JOB_KINDS.get(job.kind)
    if kind is None:
        return f"no app registers the kind {job.kind!r} any more"
    if not online.get(kind.queue):
        return f"no worker listening on {kind.queue}"
    same_queue = [k.name for k in JOB_KINDS.values() if k.queue == kind.queue]
    sent = job.enqueued_at or job.created_at
    ahead = (
        Job.objects.filter(status=Job.Status.QUEUED, kind__in=same_queue)
        .annotate(sent=Coalesce("enqueued_at", "created_at"))
        .filter(Q(sent__lt=sent) | Q(sent=sent, pk__lt=job.pk))
        .count()
    )
    return f"position {ahead + 1} in the {kind.queue} queue"


def eta_seconds(job: Job, *, now=None) -> int | None:
    """Seconds left at the pace so far, for a running job whose progress allows it."""
    if job.status != Job.Status.RUNNING or job.waiting_for_children or not job.started_at:
        return None
    done, total = job.progress_done, job.progress_total
    if not total or done <= 0 or done >= total:
        return None
    elapsed = ((now or timezone.now()) - job.started_at).total_seconds()
    return int(elapsed / done * (total - done))


def readable_duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def job_waiting_text(job: Job, online: dict[str, int], *, now=None) -> str:
    """One line on where a job stands: why it waits, or its ETA, or that it waits for its sub-jobs."""
    if job.status == Job.Status.QUEUED:
        return why_waiting(job, online)
    if job.status == Job.Status.RUNNING and job.waiting_for_children:
        return "waiting for its sub-jobs"
    eta = eta_seconds(job, now=now)
    return f"about {readable_duration(eta)} left" if eta is not None else ""


def _public(error: str) -> str:
    """An error as the pages show it: one line, no server path, no traceback (common.redact)."""
    from django.conf import settings

    from common.redact import public_text

    return public_text(error, {"artifacts": str(settings.ARTIFACT_ROOT)}).splitlines()[0] if error else ""
