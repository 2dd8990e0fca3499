"""The registry of job kinds: what a kind is called, which queue runs it and which function does the work.

A runner is ``runner(job: Job, progress: Progress) -> dict``; the dict becomes ``job.result``.
Runners live in the app that owns the work and are imported lazily by dotted path, so the web process
never imports torch.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    queue: str  # "default" (CPU) or "gpu"
    runner: str  # "module.path:function"
    startable_without_params: bool = False  # offered on the job list page's "Start" form


JOB_KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in [
        JobKind("selfcheck", "Self-check (torch version, device)", "gpu", "pruning.runners:selfcheck", True),
        # Forgettability + PIE report (Figs 1-5) from prediction stores: CPU work, default queue.
        JobKind("analysis", "Forgettability and PIE report", "default", "analysis.runners:run_report"),
    ]
}


class UnknownJobKind(ValueError):
    def __init__(self, kind: str):
        super().__init__(f"Unknown job kind {kind!r}. Known kinds: {', '.join(sorted(JOB_KINDS))}.")


def job_kind_get(kind: str) -> JobKind:
    try:
        return JOB_KINDS[kind]
    except KeyError:
        raise UnknownJobKind(kind) from None
