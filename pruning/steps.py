"""The work of each pipeline step: load inputs, call the engine, record the outcome on the row.

Runners (Celery jobs) and management commands both call these, so the shell and the browser do
the same work. Every step is idempotent: a finished step returns its stored result without
touching a file, and an unfinished one resumes (training from ``last.pt``, a sweep from its
prediction store). The engine is imported lazily: the web process never loads torch.
"""

import json
import math
from pathlib import Path

from django.utils import timezone

from common.csvsafe import frame_csv_text
from common.jsonsafe import json_safe
from common.sparsity import sparsity_index
from jobs.attempts import fenced
from pruning.models import MethodSweep, PIESelection, PruningSweep, TrainingRun
from pruning.step_inputs import decode, load_dataset, set_torch_threads, train_config


def run_summary(run: TrainingRun) -> dict:
    return {
        "seed": run.seed,
        "out_dir": str(run.out_dir),
        "checkpoint": run.checkpoint_path,
        "best_epoch": run.best_epoch,
        "best_val_loss": run.best_val_loss,
        "epochs_run": run.epochs_run,
        "stopped_early": run.stopped_early,
    }


def train_execute(*, run: TrainingRun, progress=None) -> dict:
    """Train one seed (resuming from ``last.pt``); a trained run returns its summary, doing nothing."""
    if run.is_trained and Path(run.checkpoint_path).is_file():
        return {**run_summary(run), "skipped": True}
    from pruning.engine.train import train_run

    experiment = run.experiment
    set_torch_threads(experiment.arch)
    splits = load_dataset(experiment.dataset)
    train_images = decode(splits["train"], experiment.image_size, progress)
    val_images = decode(splits["val"], experiment.image_size, progress)
    config = train_config(experiment, run.seed, list(splits["train"].class_names))
    out = train_run(
        config,
        train_images,
        splits["train"].labels,
        val_images,
        splits["val"].labels,
        run.out_dir,
        progress=progress,
        resume=True,
    )
    run.checkpoint_path = out["best_checkpoint"]
    run.best_epoch = out["best_epoch"]
    run.best_val_loss = out["best_val_loss"] if math.isfinite(out["best_val_loss"]) else None
    run.epochs_run = out["epochs_run"]
    run.stopped_early = out["stopped_early"]
    run.finished_at = timezone.now()
    with fenced(progress):  # as a job: only while this attempt still owns it
        run.save(
            update_fields=[
                "checkpoint_path",
                "best_epoch",
                "best_val_loss",
                "epochs_run",
                "stopped_early",
                "finished_at",
            ]
        )
    return run_summary(run)


# --- pruning sweep --------------------------------------------------------------------------------


def sweep_summary(sweep: PruningSweep) -> dict:
    return {
        "seed": sweep.training_run.seed,
        "predictions": str(sweep.store_path),
        "n_done": sweep.n_done,
        "achieved_sparsity": sweep.achieved_sparsity,
    }


def sweep_execute(*, sweep: PruningSweep, progress=None) -> dict:
    """Predict the test set at every sparsity of the experiment into the seed's prediction store,
    resuming from the sparsities already in it; a finished sweep returns at once."""
    if sweep.is_done and sweep.store_path.is_file():
        return {**sweep_summary(sweep), "skipped": True}
    from pruning.steps_methods import sweep_seed

    run, path = sweep.training_run, sweep.store_path
    experiment = run.experiment
    result, side = sweep_seed(run, experiment.prune_method, experiment.sparsities, path, progress)
    achieved = side.get("achieved", {})
    sweep.predictions_path = str(path)
    sweep.achieved_sparsity = json_safe({k: v.get("overall") for k, v in achieved.items()})
    sweep.n_done = int(result.done.sum())
    sweep.finished_at = timezone.now()
    with fenced(progress):
        sweep.save(update_fields=["predictions_path", "achieved_sparsity", "n_done", "finished_at"])
    return sweep_summary(sweep)


# --- PIE selection --------------------------------------------------------------------------------


def selection_summary(selection: PIESelection) -> dict:
    return {
        "selection_id": selection.pk,
        "table": selection.table_path,
        "n_images": selection.n_images,
        "n_pies": selection.n_pies,
        "n_nan": selection.n_nan,
        "tie_group_size": selection.tie_group_size,
    }


def prediction_sets(experiment, progress=None, method: str = "") -> tuple[list, list[int]]:
    """Every seed's finished prediction store (by seed) of the experiment's own sweep, or of a compared
    ``method``'s sweeps; ValueError naming the unfinished seeds."""
    from pruning.engine.store import PredictionSet

    model = MethodSweep.objects.filter(method=method) if method else PruningSweep.objects
    sweeps = list(model.filter(training_run__experiment=experiment).select_related("training_run"))
    sweeps.sort(key=lambda s: s.training_run.seed)
    todo = [s.training_run.seed for s in sweeps if not s.is_done]
    if not sweeps or todo:
        what = f"experiment #{experiment.pk}" + (f" ({method})" if method else "")
        raise ValueError(f"{what}: seed(s) {todo} not swept yet" if todo else f"{what}: no seeds")
    sets = []
    for i, s in enumerate(sweeps):
        sets.append(PredictionSet.load(s.store_path))
        if progress:
            progress(i + 1, len(sweeps) + 1, f"loaded predictions of seed {s.training_run.seed}")
    return sets, [s.training_run.seed for s in sweeps]


def select_execute(*, selection: PIESelection, progress=None) -> dict:
    """Select PIEs from all seeds' stores; writes ``pies/<id>.csv`` (+ ``<id>.json`` summary)."""
    if selection.is_done and Path(selection.table_path).is_file():
        return {**selection_summary(selection), "skipped": True}
    from common.files import atomic_write
    from pruning.engine.pies import select_pies_from_sets, select_pies_hooker
    from pruning.engine.store import stack_seeds

    experiment = selection.experiment
    sets, seeds = prediction_sets(experiment, progress, selection.method)
    if selection.definition == "hooker":
        probs, sparsities, ids, _ = stack_seeds(sets)
        dense, pruned = sparsity_index(sparsities, 0.0), sparsity_index(sparsities, selection.sparsity)
        if dense is None or pruned is None:
            raise ValueError(f"sparsity 0 and {selection.sparsity} must both be in {sparsities.tolist()}")
        result = select_pies_hooker(probs[:, dense], probs[:, pruned], image_ids=ids)
        result.summary.update(sparsity=selection.sparsity, n_seeds=len(sets))
    else:
        result = select_pies_from_sets(sets, sparsity=selection.sparsity, q=selection.q)
    summary = json_safe({**result.summary, "seeds": seeds})
    summary["diagnostics"] = json_safe(_selection_diagnostics(selection, sets, seeds, result.table))
    path = selection.table_file
    csv = frame_csv_text(result.table).encode()  # ids are text a spreadsheet must not run
    atomic_write(path, lambda f: f.write(csv))
    meta = json.dumps(summary, indent=1, sort_keys=True).encode()
    atomic_write(path.with_suffix(".json"), lambda f: f.write(meta))
    selection.table_path = str(path)
    selection.n_images = summary["n_images"]
    selection.n_pies = summary["n_pies"]
    selection.n_nan = summary.get("n_nan")
    selection.tie_group_size = summary.get("tie_group_size")
    selection.summary = summary
    selection.finished_at = timezone.now()
    with fenced(progress):
        selection.save(
            update_fields=["table_path", "n_images", "n_pies", "n_nan", "tie_group_size", "summary", "finished_at"]
        )
    if progress:
        progress(len(sets) + 1, len(sets) + 1, f"{selection.n_pies} PIEs of {selection.n_images} images")
    return selection_summary(selection)


def _selection_diagnostics(selection: PIESelection, sets: list, seeds: list[int], table) -> dict:
    """Findings per image, class mix, dominance warning and leave-one-seed-out stability of the PIEs,
    from the test labels the dataset gives (never a synthetic set's hidden truth)."""
    from pruning.engine.pie_diagnostics import diagnostics_from_sets

    test = load_dataset(selection.experiment.dataset)["test"]
    if list(test.ids) != [str(i) for i in table["image_id"]]:
        raise ValueError(f"PIE table of selection #{selection.pk} does not follow the test split's image order")
    return diagnostics_from_sets(
        sets,
        table["is_pie"].to_numpy(bool),
        test.labels,
        list(test.class_names),
        seeds,
        definition=selection.definition,
        sparsity=selection.sparsity,
        q=selection.q,
    )


# --- synthetic dataset ----------------------------------------------------------------------------


DEFAULT_FRACTIONS = (0.7, 0.1, 0.2)


def synthetic_is_rendered(out_dir: Path, n: int, size: int, seed: int, fractions=DEFAULT_FRACTIONS) -> bool:
    """A complete earlier rendering with the same settings by the same generator version (make_synthetic is
    deterministic; a newer generator draws other pixels from the same settings)."""
    from pruning.engine.synthetic import GENERATOR_VERSION

    meta_path = Path(out_dir) / "dataset.json"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return False
    same_split = [round(float(f), 6) for f in meta.get("split_fractions", DEFAULT_FRACTIONS)] == [
        round(float(f), 6) for f in fractions
    ]
    return (
        sum(meta.get("n", {}).values()) == n
        and meta.get("size") == size
        and meta.get("seed") == seed
        and same_split
        and meta.get("generator_version") == GENERATOR_VERSION
    )


def synthetic_execute(
    *, out_dir: str, n: int, size: int, seed: int, name: str = "", fractions=DEFAULT_FRACTIONS, user=None, progress=None
) -> dict:
    """Render the synthetic CXR-LT (skipped when already rendered) and register it as ``name``."""
    from pruning.services_datasets import dataset_register

    out = Path(out_dir)
    fractions = tuple(float(f) for f in fractions)
    skipped = synthetic_is_rendered(out, n, size, seed, fractions)
    if not skipped:
        from pruning.engine.synthetic import make_synthetic

        make_synthetic(out, n, size, seed, progress, fractions=fractions)
    result = {"out_dir": str(out), "n": n, "size": size, "seed": seed, "rendered": not skipped}
    if name:
        # The files need no fence (the rendering is deterministic: an old attempt writes the same bytes), but
        # the dataset row does: an attempt that lost its job (cancelled, or superseded by a retry) registers
        # nothing, like every other runner's row writes.
        with fenced(progress):
            dataset = dataset_register(
                name=name,
                spec={"kind": "synthetic", "root": str(out)},
                user=user,
                notes=f"Synthetic CXR-LT: {n} images, {size} px, seed {seed}.",
            )
        result.update(dataset_id=dataset.pk, dataset=dataset.name)
    return result
