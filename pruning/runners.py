"""Runners for the pruning app's job kinds. Each imports the engine lazily (the web process never loads torch).

Each step runs under its attempt's fence: the engine publishes every file (checkpoint, history, prediction
store, PIE table) from a private temp file with one rename, and that rename happens only while the attempt
still owns the job; the step's row writes are fenced the same way (pruning.steps)."""

import contextlib

from jobs.errors import WaitForChildren
from jobs.models import Job


def _publishing_fenced(progress):
    from common.files import publish_guard

    fence = getattr(progress, "fence", None)
    return publish_guard(fence) if fence is not None else contextlib.nullcontext()


# --- The experiment pipeline: each runner loads its row, calls the step, returns the summary. ----------


def run_experiment(job: Job, progress) -> dict:
    """Parent of an experiment: create the children (requeueing failed or cancelled ones on a retry),
    then wait for them; the on_child_finished hook moves the pipeline on and finishes this job."""
    from pruning.services_experiments import experiment_advance

    state = experiment_advance(experiment_id=job.params["experiment_id"], retry=True)
    if state["complete"] and not state["active"]:
        return {k: v for k, v in state.items() if k != "blocking"}
    raise WaitForChildren(f"{state['active']} sub-job(s) active")


def run_train(job: Job, progress) -> dict:
    from pruning.models import TrainingRun
    from pruning.steps import train_execute

    run = TrainingRun.objects.select_related("experiment__dataset").get(pk=job.params["training_run_id"])
    with _publishing_fenced(progress):
        return train_execute(run=run, progress=progress)


def run_sweep(job: Job, progress) -> dict:
    from pruning.models import PruningSweep
    from pruning.steps import sweep_execute

    sweep = PruningSweep.objects.select_related("training_run__experiment__dataset").get(pk=job.params["sweep_id"])
    with _publishing_fenced(progress):
        return sweep_execute(sweep=sweep, progress=progress)


def run_method_sweep(job: Job, progress) -> dict:
    from pruning.models import MethodSweep
    from pruning.steps_methods import method_sweep_execute

    sweep = MethodSweep.objects.select_related("training_run__experiment__dataset").get(pk=job.params["sweep_id"])
    with _publishing_fenced(progress):
        return method_sweep_execute(sweep=sweep, progress=progress)


def run_select_pies(job: Job, progress) -> dict:
    from pruning.models import PIESelection
    from pruning.steps import select_execute

    selection = PIESelection.objects.select_related("experiment").get(pk=job.params["selection_id"])
    with _publishing_fenced(progress):
        return select_execute(selection=selection, progress=progress)


def run_make_synthetic(job: Job, progress) -> dict:
    from pruning.steps import synthetic_execute

    p = job.params
    return synthetic_execute(
        out_dir=p["out_dir"],
        n=p["n"],
        size=p["size"],
        seed=p.get("seed", 0),
        name=p.get("name", ""),
        fractions=p.get("fractions") or (0.7, 0.1, 0.2),
        user=job.created_by,
        progress=progress,
    )
