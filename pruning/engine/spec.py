"""Dataset specs: the JSON-able dict a registered Dataset stores, turned into splits.

A spec names a dataset kind and the paths its loader needs::

    {"kind": "synthetic", "root": "/data/syn"}
    {"kind": "nih-cxr-lt", "labels_dir": "/data/labels", "image_root": "/data/nih/images"}
    {"kind": "mimic-cxr-lt", "labels_dir": "/data/labels", "image_root": "/data/mimic-cxr-jpg"}
    {"kind": "csv", "split_csvs": {"train": "...", "val": "...", "test": "..."},
     "image_root": "/data/imgs", "id_column": "id", "path_column": "file" (optional),
     "class_names": [...] (optional)}

Any kind may add ``"metadata_csv": "/data/meta.csv"``: per-image sex, age, view and user columns
(``pruning.engine.metadata``; NIH-CXR-LT joins the NIH table by image id without it).

The Django app (training, sweeps) and the analysis both read datasets through
:func:`load_splits`, so a dataset means the same images and labels everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pruning.engine.data import SPLITS, Split, load_csv_dataset, load_paper_dataset, load_synthetic
from pruning.engine.errors import DatasetError

KINDS = ("synthetic", "nih-cxr-lt", "mimic-cxr-lt", "csv")
# Keys each kind requires; optional keys are listed in the module docstring.
REQUIRED: dict[str, tuple[str, ...]] = {
    "synthetic": ("root",),
    "nih-cxr-lt": ("labels_dir", "image_root"),
    "mimic-cxr-lt": ("labels_dir", "image_root"),
    "csv": ("split_csvs", "image_root", "id_column"),
}


def check_spec(spec: Mapping) -> str:
    """Return the spec's kind, or raise :class:`DatasetError` naming the missing or bad key."""
    if not isinstance(spec, Mapping):
        raise DatasetError(f"dataset spec must be a dict, got {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise DatasetError(f"unknown dataset kind {kind!r}; choose one of {', '.join(KINDS)}")
    missing = [k for k in REQUIRED[kind] if not spec.get(k)]
    if missing:
        raise DatasetError(f"dataset spec of kind {kind!r} lacks {', '.join(repr(k) for k in missing)}")
    if kind == "csv":
        csvs = spec["split_csvs"]
        if not isinstance(csvs, Mapping) or [s for s in SPLITS if not csvs.get(s)]:
            raise DatasetError(f"'split_csvs' must map each of {', '.join(SPLITS)} to a label CSV path")
    return kind


def load_splits(spec: dict) -> dict[str, Split]:
    """The train/val/test splits a spec describes (loaders check files, columns and 0/1 labels;
    call ``data.validate_splits`` for the rest: empty splits, leakage, unreadable images)."""
    kind = check_spec(spec)
    if kind == "synthetic":
        return load_synthetic(Path(spec["root"]))
    if kind in ("nih-cxr-lt", "mimic-cxr-lt"):
        return load_paper_dataset(kind, Path(spec["labels_dir"]), Path(spec["image_root"]))
    return load_csv_dataset(
        {s: Path(spec["split_csvs"][s]) for s in SPLITS},
        Path(spec["image_root"]),
        spec["id_column"],
        class_names=list(spec["class_names"]) if spec.get("class_names") else None,
        path_column=spec.get("path_column") or None,
    )


def hidden_truth_path(spec: dict) -> Path | None:
    """The synthetic dataset's hidden ground truth CSV (never shown to models or readers);
    None for every other kind. The file may not exist (check before reading)."""
    if check_spec(spec) == "synthetic":
        return Path(spec["root"]) / "hidden_truth.csv"
    return None
