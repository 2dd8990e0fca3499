"""Steps for compression methods beyond the experiment's own: calibration images, measured costs, and
the sweep of one seed under one more method (a ``MethodSweep``). Same rules as ``pruning.steps``:
idempotent, resumable from the store, fenced row writes, the engine imported lazily."""

import os

from django.utils import timezone

from common.jsonsafe import json_safe
from jobs.attempts import fenced
from pruning.models import Experiment, MethodSweep, TrainingRun
from pruning.step_inputs import decode, load_dataset, set_torch_threads, train_config

CALIBRATION_IMAGES = 256  # torch.ao's examples calibrate on a few hundred images


def cost_repeats() -> int:
    """Timed forward passes per level and batch size (COMPRESS_COST_REPEATS; 0 measures no costs)."""
    return max(0, int(os.environ.get("COMPRESS_COST_REPEATS", "3")))


def calibration_images(experiment: Experiment, progress=None):
    """A fixed sample of training images (the same for every seed) for methods that calibrate."""
    import numpy as np

    train = load_dataset(experiment.dataset)["train"]
    images = decode(train, experiment.image_size, progress)
    pick = np.sort(np.random.default_rng(0).permutation(len(images))[:CALIBRATION_IMAGES])
    return np.ascontiguousarray(images[pick])


def training_set(experiment: Experiment, seed: int, progress=None):
    """The whole training split with its labels and the experiment's training settings (IMP fine-tunes on it)."""
    from pruning.engine.train import TrainingSet

    train = load_dataset(experiment.dataset)["train"]
    images = decode(train, experiment.image_size, progress)
    return TrainingSet(images, train.labels, train_config(experiment, seed, list(train.class_names)))


def method_options(experiment: Experiment, method: str, seed: int, progress=None) -> dict:
    """Keyword arguments ``infer.sweep`` needs for ``method``: calibration images when it calibrates, the
    training set when it fine-tunes, its parameters when it has some (``Experiment.method_params``), and a
    cost measurement on the experiment's first seed only (a level's parameter count, file size and
    latency depend on the architecture and level, not on the seed, and latency is the slow part)."""
    from pruning.engine import compress
    from pruning.engine.compress.costs import CostConfig

    spec = compress.get(method)
    out: dict = {}
    if spec.needs_calibration:
        out["calibration"] = calibration_images(experiment, progress)
    if spec.needs_training:
        out["training"] = training_set(experiment, seed, progress)
    if spec.params:
        out["params"] = (experiment.method_params or {}).get(method, {})
    if experiment.seeds and seed == min(experiment.seeds) and cost_repeats() > 0:
        out["costs"] = CostConfig(repeats=cost_repeats())
    return out


def method_sweep_summary(sweep: MethodSweep) -> dict:
    return {
        "seed": sweep.training_run.seed,
        "method": sweep.method,
        "predictions": str(sweep.store_path),
        "n_done": sweep.n_done,
    }


def sweep_seed(run: TrainingRun, method: str, levels: list, path, progress=None) -> tuple:
    """Predict the test set of ``run``'s trained model at every level of ``method`` into the store at ``path``
    (resuming from it): the one sweep behind the experiment's own sweep and every compared method's.
    Returns the prediction set and the store's sidecar."""
    if not run.is_trained:
        raise ValueError(f"seed {run.seed} of experiment #{run.experiment_id} is not trained yet; train it first")
    from pruning.engine.infer import sweep as engine_sweep
    from pruning.engine.nets import build_model
    from pruning.engine.store import read_sidecar

    experiment = run.experiment
    set_torch_threads(experiment.arch)
    test = load_dataset(experiment.dataset)["test"]
    images = decode(test, experiment.image_size, progress)
    model = build_model(experiment.arch, len(test.class_names), init=run.checkpoint_path)
    result = engine_sweep(
        model,
        images,
        levels,
        method=method,
        out_path=path,
        seed=run.seed,
        progress=progress,
        image_ids=list(test.ids),
        class_names=list(test.class_names),
        batch_size=experiment.batch_size,
        image_size=experiment.image_size,
        **method_options(experiment, method, run.seed, progress),
    )
    return result, read_sidecar(path)


def method_sweep_execute(*, sweep: MethodSweep, progress=None) -> dict:
    """Predict the test set at every level of ``sweep.method`` (resuming); a finished one returns at once."""
    if sweep.is_done and sweep.store_path.is_file():
        return {**method_sweep_summary(sweep), "skipped": True}
    path = sweep.store_path
    result, side = sweep_seed(sweep.training_run, sweep.method, sweep.levels, path, progress)
    sweep.predictions_path = str(path)
    sweep.costs = json_safe(side.get("costs", {}))
    sweep.n_done = int(result.done.sum())
    sweep.finished_at = timezone.now()
    with fenced(progress):
        sweep.save(update_fields=["predictions_path", "costs", "n_done", "finished_at"])
    return method_sweep_summary(sweep)
