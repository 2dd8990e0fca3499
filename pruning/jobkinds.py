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
    # "module.path:function" called as hook(parent_job, child_job) whenever a child job of a job of this
    # kind ends (succeeded, failed or cancelled): a parent uses it to start the next stage.
    on_child_finished: str = ""


JOB_KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in [
        JobKind("selfcheck", "Self-check (torch version, device)", "gpu", "pruning.runners:selfcheck", True),
        # Forgettability + PIE report (Figs 1-5) from prediction stores: CPU work, default queue.
        JobKind("analysis", "Forgettability and PIE report", "default", "analysis.runners:run_report"),
        # The pruning pipeline. The experiment job only coordinates (creates children, then waits for
        # them), so it runs on the default queue and never holds a GPU worker.
        JobKind(
            "experiment",
            "Experiment (train, sweep, PIEs for every seed)",
            "default",
            "pruning.runners:run_experiment",
            on_child_finished="pruning.services_experiments:on_child_finished",
        ),
        JobKind("train", "Train one seed", "gpu", "pruning.runners:run_train"),
        JobKind("sweep", "Pruning sweep of one seed", "gpu", "pruning.runners:run_sweep"),
        JobKind("select_pies", "PIE selection", "default", "pruning.runners:run_select_pies"),
        JobKind("make_synthetic", "Render a synthetic CXR-LT dataset", "default", "pruning.runners:run_make_synthetic"),
    ]
}


class UnknownJobKind(ValueError):  # noqa: N818 -- public name used across the apps
    def __init__(self, kind: str):
        super().__init__(f"Unknown job kind {kind!r}. Known kinds: {', '.join(sorted(JOB_KINDS))}.")


def job_kind_get(kind: str) -> JobKind:
    try:
        return JOB_KINDS[kind]
    except KeyError:
        raise UnknownJobKind(kind) from None
