"""PIE selections as reader-study sources (registered with readerstudy.sources in PruningConfig.ready()).

A candidate is one test image of the selection's experiment: its file, whether it is a PIE, its
correlation, the labels the dataset gives it (what readers are asked to agree with) and, for the
synthetic dataset, its hidden ground truth (never shown to readers; kept for the analysis).
"""

import math
from pathlib import Path

from common.jsonsafe import json_safe
from pruning.models import PIESelection

HIDDEN_TRUTH_FIELDS = ("quality", "subtlety", "label_noise", "noise_kind", "noise_class", "noise_sigma",
                       "blur_sigma", "exposure", "contrast", "strength", "view")  # fmt: skip


def _finished():
    return PIESelection.objects.filter(finished_at__isnull=False).select_related("experiment__dataset")


def selection_choices() -> list[tuple[str, str]]:
    """(value, label) of every finished PIE selection, newest first."""
    return [
        (
            str(s.pk),
            f"#{s.pk} {s.experiment.name} ({s.experiment.dataset.name}): {s.n_pies} PIEs of {s.n_images}, "
            f"{s.definition} at {s.method_name} level {s.sparsity:g}, q={s.q:g}",
        )
        for s in _finished().order_by("-finished_at", "-id")
    ]


def _hidden_truth(spec: dict) -> dict[str, dict]:
    import pandas as pd

    from pruning.engine.spec import hidden_truth_path

    path = hidden_truth_path(spec)
    if path is None or not path.is_file():
        return {}
    table = pd.read_csv(path, dtype={"id": str}, keep_default_na=False)
    fields = [c for c in HIDDEN_TRUTH_FIELDS if c in table.columns]
    return {row["id"]: {f: json_safe(row[f]) for f in fields} for row in table[["id", *fields]].to_dict("records")}


def _attributes(spec: dict, image_ids: list[str]) -> dict[str, dict]:
    """Per-image metadata (sex, age band, view, user columns) for stratified sampling; {} when none."""
    from common.metadata import MetadataError, align_metadata
    from pruning.engine.metadata import metadata_for
    from readerstudy.design import DesignError

    try:
        meta = metadata_for(spec)
    except MetadataError as exc:
        raise DesignError(f"The dataset's metadata cannot be read: {exc}") from None
    if meta is None:
        return {}
    table = align_metadata(meta, image_ids).drop(columns=["patient_id"], errors="ignore")
    return table.to_dict("index")


def selection_candidates(value: str) -> tuple[list, dict]:
    """Every test image of the selection as a Candidate, and the ``source`` dict the study records."""
    import pandas as pd

    from pruning.engine.spec import load_splits
    from readerstudy.design import Candidate, DesignError

    try:
        selection = _finished().get(pk=int(value))
    except (ValueError, PIESelection.DoesNotExist):
        raise DesignError(f"PIE selection {value!r} does not exist or has not finished.") from None
    table_path = Path(selection.table_path)
    if not table_path.is_file():
        raise DesignError(f"The table of PIE selection #{selection.pk} ({table_path}) is missing.")
    dataset = selection.experiment.dataset
    try:
        test = load_splits(dataset.spec)["test"]
    except ValueError as exc:
        raise DesignError(f"Dataset {dataset.name!r} cannot be read: {exc}") from None
    table = pd.read_csv(table_path, dtype={"image_id": str})
    index = {image_id: i for i, image_id in enumerate(test.ids)}
    truth = _hidden_truth(dataset.spec)
    attributes = _attributes(dataset.spec, list(test.ids))
    candidates = []
    for row in table.itertuples(index=False):
        i = index.get(row.image_id)
        if i is None:
            raise DesignError(
                f"{table_path}: image id {row.image_id!r} is not in dataset {dataset.name!r}'s test split"
            )
        corr = getattr(row, "correlation", None)
        candidates.append(
            Candidate(
                image_path=Path(test.paths[i]),
                source_image_id=row.image_id,
                is_pie=str(row.is_pie).lower() in ("true", "1"),
                correlation=None if corr is None or not math.isfinite(corr) else float(corr),
                dataset=dataset.name,
                shown_labels=[c for c, y in zip(test.class_names, test.labels[i], strict=True) if y],
                hidden_truth=truth.get(row.image_id, {}),
                attributes=attributes.get(row.image_id, {}),
            )
        )
    source = {
        "kind": "pie_selection",
        "selection_id": selection.pk,
        "experiment_id": selection.experiment_id,
        "dataset": dataset.name,
        "definition": selection.definition,
        "method": selection.method_name,
        "sparsity": selection.sparsity,
        "q": selection.q,
        "n_pies": selection.n_pies,
        "n_images": selection.n_images,
    }
    return candidates, source
