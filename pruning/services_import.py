"""Import the PruneCXR paper's released predictions (one pickle per seed and sparsity) as an experiment.

The result looks like any experiment whose seeds are all swept: one prediction store per seed under
``experiments/<id>/seed-<s>/predictions.npz``, keyed by the dataset's test image ids, so PIE selection
and the analysis report read it exactly as they read our own runs.
"""

from pathlib import Path

import numpy as np
from django.db import transaction
from django.utils import timezone

from common.sparsity import swept
from config.roles import actor
from pruning import params
from pruning.models import Dataset, Experiment, PruningSweep, TrainingRun
from pruning.services_experiments import claim_artifact_dir


def experiment_import_prunecxr(
    *,
    folder: str | Path,
    file_dataset: str,
    dataset: Dataset,
    arch: str = "resnet50",
    name: str = "",
    user=None,
    progress=None,
) -> Experiment:
    """Read ``{file_dataset}_{arch}_seed-{s}_prune-{r}.pkl`` files from ``folder``; rows are the test
    split of ``dataset`` in file order (checked against the files' ``label`` column when present)."""
    from pruning.engine.prunecxr import import_prunecxr, prunecxr_filename, prunecxr_labels, prunecxr_seeds
    from pruning.engine.spec import load_splits

    if arch not in params.ARCHS:
        raise ValueError(f"architecture {arch!r} in the file names is not one of {', '.join(params.ARCHS)}")
    test = load_splits(dataset.spec)["test"]
    seeds = prunecxr_seeds(folder, file_dataset, arch)
    if progress:
        progress(0, len(seeds) + 1, f"reading {len(seeds)} seed(s)")
    try:
        sets = import_prunecxr(folder, file_dataset, image_ids=list(test.ids), arch=arch)
    except ValueError as exc:
        raise ValueError(f"{exc} (test split of dataset {dataset.name!r} has {len(test.ids)} images)") from exc
    classes = sets[0].class_names
    if classes != list(test.class_names):
        raise ValueError(f"{folder}: class columns {classes} differ from dataset {dataset.name!r} ({test.class_names})")
    first = Path(folder) / prunecxr_filename(file_dataset, seeds[0], float(sets[0].sparsities[0]), arch)
    try:
        labels, _ = prunecxr_labels(first)
    except ValueError:
        labels = None  # no 'label' column: nothing to check against
    if labels is not None:
        diff = np.flatnonzero((labels != test.labels).any(axis=1))
        if len(diff):
            raise ValueError(
                f"{first}: 'label' column differs from {test.where(int(diff[0]))} ({len(diff)} rows differ); "
                f"are these predictions of dataset {dataset.name!r}'s test split, in its order?"
            )
    sparsities = [float(s) for s in sets[0].sparsities]
    pie = 0.9 if swept(sparsities, 0.9) else max(sparsities)
    with transaction.atomic():
        experiment = Experiment(
            dataset=dataset,
            name=name or f"{file_dataset} {arch} imported from {Path(folder).name}",
            source=Experiment.Source.IMPORTED,
            arch=arch,
            init="imported",
            seeds=seeds,
            epochs=0,
            sparsities=sparsities,
            pie_sparsity=pie,
            created_by=actor(user),
        )
        experiment.full_clean()
        experiment.save()
        claim_artifact_dir(experiment)
        for i, (seed, ps) in enumerate(zip(seeds, sets, strict=True)):
            run = TrainingRun.objects.create(experiment=experiment, seed=seed)
            path = run.out_dir / "predictions.npz"
            ps.save(path)
            PruningSweep.objects.create(
                training_run=run, predictions_path=str(path), n_done=len(sparsities), finished_at=timezone.now()
            )
            if progress:
                progress(i + 1, len(seeds) + 1, f"seed {seed} stored")
    return experiment
