"""The registry of job kinds: what a kind is called, which queue runs it and which function does the work.

Each app registers its own kinds in its ``AppConfig.ready()``; this app knows none of them. A runner is
``runner(job: Job, progress) -> dict`` (the dict becomes ``job.result``); runners import heavy
libraries (torch) inside the function, so registering them costs the web process nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass

from common.errors import AppError


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    queue: str  # "default" (CPU) or "gpu"
    runner: Callable
    startable_without_params: bool = False  # offered on the job list page's "Start" form
    # Called as hook(parent_job, child_job) whenever a child job of a job of this kind ends (succeeded,
    # failed or cancelled): a parent uses it to start the next stage.
    on_child_finished: Callable | None = None
    # Which jobs of this kind a non-admin may see, as visible_q(user) -> Q on Job (e.g. only the jobs of the
    # studies the user is granted); None: every researcher sees them. Admins always see every job.
    visible_q: Callable | None = None


JOB_KINDS: dict[str, JobKind] = {}


def register_kind(kind: JobKind) -> JobKind:
    """Add a kind (idempotent for the same kind; a second, different kind of one name is a bug)."""
    known = JOB_KINDS.get(kind.name)
    if known is not None and known != kind:
        raise ValueError(f"job kind {kind.name!r} is registered twice, differently")
    JOB_KINDS[kind.name] = kind
    return kind


class UnknownJobKind(AppError):  # noqa: N818 -- public name used across the apps
    def __init__(self, kind: str):
        super().__init__(f"Unknown job kind {kind!r}. Known kinds: {', '.join(sorted(JOB_KINDS))}.")


def queue_name(queue: str) -> str:
    """The broker's name of a logical queue ("gpu" -> "gpu", or "<JOBS_QUEUE_PREFIX>gpu")."""
    from django.conf import settings

    return settings.JOBS_QUEUE_PREFIX + queue


def job_kind_get(kind: str) -> JobKind:
    try:
        return JOB_KINDS[kind]
    except KeyError:
        raise UnknownJobKind(kind) from None
