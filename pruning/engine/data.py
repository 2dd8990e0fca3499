"""Datasets: the paper's label CSVs, any "label CSV + image folder", and the synthetic demo set.

Every loader returns ``{"train": Split, "val": Split, "test": Split}``. Loaders check what they
must read (file present, id and class columns present, labels 0/1); :func:`validate_splits` checks
the rest (empty splits, duplicate ids, leakage across splits, missing or unreadable images) and is
cheap enough to run before any GPU time is spent. :func:`decode_images` (in ``data_decode``) turns
a split's images into one cached uint8 array so epochs and pruning sweeps never re-decode.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from common.dicom import DicomError, is_dicom, read_radiograph
from common.labels import read_text_csv, zero_one_labels
from common.progress import Progress, report
from pruning.engine.data_decode import decode_images
from pruning.engine.errors import DatasetError

__all__ = [
    "PAPER_CLASSES",
    "PAPER_ID_COLUMN",
    "SPLITS",
    "Split",
    "class_frequencies",
    "decode_images",
    "load_csv_dataset",
    "load_paper_dataset",
    "load_synthetic",
    "validate_splits",
]

SPLITS = ("train", "val", "test")

# Class columns in the exact order of the reference code (VITA-Group/PruneCXR src/datasets.py);
# the order fixes the column order of every prediction array, so it must never be re-sorted.
PAPER_CLASSES: dict[str, list[str]] = {
    "nih-cxr-lt": [
        "No Finding",
        "Infiltration",
        "Effusion",
        "Atelectasis",
        "Nodule",
        "Mass",
        "Consolidation",
        "Pneumothorax",
        "Pleural Thickening",
        "Cardiomegaly",
        "Emphysema",
        "Edema",
        "Fibrosis",
        "Subcutaneous Emphysema",
        "Pneumonia",
        "Tortuous Aorta",
        "Calcification of the Aorta",
        "Pneumoperitoneum",
        "Hernia",
        "Pneumomediastinum",
    ],  # fmt: skip
    "mimic-cxr-lt": [
        "Support Devices",
        "Lung Opacity",
        "Cardiomegaly",
        "Pleural Effusion",
        "Atelectasis",
        "Pneumonia",
        "Edema",
        "No Finding",
        "Enlarged Cardiomediastinum",
        "Consolidation",
        "Pneumothorax",
        "Fracture",
        "Calcification of the Aorta",
        "Tortuous Aorta",
        "Subcutaneous Emphysema",
        "Lung Lesion",
        "Pneumomediastinum",
        "Pneumoperitoneum",
        "Pleural Other",
    ],  # fmt: skip
}
# NIH rows name an image file ("00000001_000.png"); MIMIC rows a relative path ("files/p10/...").
PAPER_ID_COLUMN = {"nih-cxr-lt": "id", "mimic-cxr-lt": "path"}

_MAX_LISTED = 10  # offending rows / images shown in one error message


@dataclass
class Split:
    """One split: image ids, absolute-or-root-relative paths, uint8 labels [N, C] (0/1)."""

    name: str
    ids: list[str]
    paths: list[Path]
    labels: np.ndarray
    class_names: list[str]
    source: Path | None = None  # the label CSV, so errors can point at its lines

    def __len__(self) -> int:
        return len(self.ids)

    def where(self, i: int) -> str:
        """Human location of row ``i``: the CSV line (header = line 1) and id."""
        place = f"{self.source} line {i + 2}" if self.source else f"split {self.name!r} row {i}"
        return f"{place} (id {self.ids[i]!r})"


_ID_LIKE = re.compile(r"(?i:(^|[\s_-])id)$|[a-z]ID$")  # id, subj_id, Patient ID, PatientID; not Fluid


def _is_id_like(column: str) -> bool:
    return bool(_ID_LIKE.search(column.strip()))


def _infer_classes(df: pd.DataFrame, skip: set[str]) -> list[str]:
    """Label columns when none are given: numeric columns not named like an id, in file order.

    Text columns (e.g. sex) are metadata and skipped; a numeric column that is not 0/1 (e.g. age)
    is kept so the 0/1 check names it rather than silently dropping it.
    """
    out = []
    for col in df.columns:
        if col in skip or _is_id_like(col):
            continue
        values = df[col].str.strip()
        if len(values) and pd.to_numeric(values, errors="coerce").notna().all():
            out.append(col)
    return out


def _read_split(
    name: str,
    csv_path: Path,
    id_column: str,
    class_names: list[str] | None,
    path_of: Callable[[str], Path],
    path_column: str | None = None,
) -> Split:
    csv_path = Path(csv_path)
    df = read_text_csv(csv_path, DatasetError, f"label file for split {name!r} not found")
    if id_column not in df.columns:
        raise DatasetError(f"{csv_path}: no id column {id_column!r} (columns: {', '.join(df.columns)})")
    if class_names is None:
        class_names = _infer_classes(df, {id_column, path_column or id_column})
        if not class_names:
            raise DatasetError(f"{csv_path}: no numeric label columns found; pass class_names")
    if path_column is not None and path_column not in df.columns:
        raise DatasetError(f"{csv_path}: no path column {path_column!r} (columns: {', '.join(df.columns)})")
    missing = [c for c in class_names if c not in df.columns]
    if missing:
        raise DatasetError(f"{csv_path}: missing class column(s) {missing}")
    ids = df[id_column].str.strip()
    empty = np.flatnonzero((ids == "").to_numpy())
    if len(empty):
        lines = ", ".join(str(i + 2) for i in empty[:_MAX_LISTED])
        raise DatasetError(f"{csv_path}: empty {id_column!r} at line(s) {lines}")
    labels, col, bad = zero_one_labels(df, class_names)
    if col is not None:
        shown = ", ".join(f"line {i + 2} (id {ids.iat[i]!r}): {df[col].iat[i]!r}" for i in bad[:_MAX_LISTED])
        raise DatasetError(f"{csv_path}: column {col!r} must hold 0/1 labels; {len(bad)} row(s) do not, first: {shown}")
    id_list = ids.tolist()
    files = id_list if path_column is None else df[path_column].str.strip().tolist()
    return Split(
        name=name,
        ids=id_list,
        paths=[path_of(v) for v in files],
        labels=labels,
        class_names=list(class_names),
        source=csv_path,
    )


def load_csv_dataset(
    split_csvs: Mapping[str, Path],
    image_root: Path,
    id_column: str,
    class_names: list[str] | None = None,
    path_column: str | None = None,
) -> dict[str, Split]:
    """Generic "label CSV per split + image folder" dataset.

    ``split_csvs`` maps "train"/"val"/"test" to CSV files. Each row is one image; its file is
    ``image_root / row[path_column]`` (or ``image_root / row[id_column]`` without a path column).
    ``class_names`` picks and orders the 0/1 label columns; by default they are the numeric
    columns not named like an id ("subj_id", "Patient ID"), in file order, taken from the first
    split and required in the others.
    """
    missing = [s for s in SPLITS if s not in split_csvs]
    if missing:
        raise DatasetError(f"label CSVs for split(s) {missing} not given (need {list(SPLITS)})")
    root = Path(image_root)
    out: dict[str, Split] = {}
    for name in SPLITS:
        split = _read_split(name, Path(split_csvs[name]), id_column, class_names, lambda v: root / v, path_column)
        class_names = split.class_names  # inferred once (from train), then required everywhere
        out[name] = split
    return out


def load_paper_dataset(name: str, labels_dir: Path, image_root: Path) -> dict[str, Split]:
    """NIH-CXR-LT or MIMIC-CXR-LT as released: ``miccai2023_{name}_labels_{split}.csv``.

    NIH rows are keyed by ``id`` (an image file name), MIMIC rows by ``path`` (relative to the
    MIMIC-CXR-JPG root); both are joined to ``image_root``. Class columns follow PAPER_CLASSES.
    """
    if name not in PAPER_CLASSES:
        raise DatasetError(f"unknown paper dataset {name!r}; choose one of {list(PAPER_CLASSES)}")
    labels_dir = Path(labels_dir)
    csvs = {s: labels_dir / f"miccai2023_{name}_labels_{s}.csv" for s in SPLITS}
    return load_csv_dataset(csvs, image_root, PAPER_ID_COLUMN[name], PAPER_CLASSES[name])


def load_synthetic(root: Path) -> dict[str, Split]:
    """The synthetic CXR-LT written by ``pruning.engine.synthetic.make_synthetic``."""
    root = Path(root)
    meta_path = root / "dataset.json"
    if not meta_path.is_file():
        raise DatasetError(f"{meta_path}: not found; is {root} a synthetic dataset folder?")
    try:
        classes = list(json.loads(meta_path.read_text())["classes"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{meta_path}: unreadable or without 'classes' ({exc})") from exc
    images = root / "images"
    return {s: _read_split(s, root / f"labels_{s}.csv", "id", classes, lambda v: images / f"{v}.png") for s in SPLITS}


def class_frequencies(split: Split) -> pd.Series:
    """Positive count per class (index: class names, in split order)."""
    return pd.Series(split.labels.sum(axis=0).astype(np.int64), index=split.class_names)


def _image_problem(path: Path) -> str | None:
    if not path.is_file():
        return "missing"
    if is_dicom(path):  # decoded in full: no pixel data, multi-frame and undecodable files are refused here
        try:
            read_radiograph(path)
        except DicomError as exc:
            return exc.message.split(": ", 1)[-1]
        return None
    try:
        with Image.open(path) as im:
            im.verify()  # reads the whole file and checks structure/CRCs without decoding pixels
    except Exception as exc:  # noqa: BLE001 -- any PIL failure means "unreadable"
        return f"unreadable ({type(exc).__name__}: {exc})"
    return None


def validate_splits(
    splits: Mapping[str, Split], check_images: bool = True, progress: Progress | None = None
) -> dict[str, int]:
    """Raise :class:`DatasetError` on any problem; return the number of images per split.

    Checks: all three splits present and non-empty, same classes in the same order, 0/1 labels
    of the right shape, no duplicate id within a split or shared across splits, and (when
    ``check_images``) every image exists and passes PIL's ``verify`` (cheap: no pixel decode).
    """
    missing = [s for s in SPLITS if s not in splits]
    if missing:
        raise DatasetError(f"split(s) {missing} missing (need {list(SPLITS)})")
    ref = splits["train"].class_names
    seen: dict[str, str] = {}
    for name in SPLITS:
        sp = splits[name]
        where = f"split {name!r}" + (f" ({sp.source})" if sp.source else "")
        if len(sp) == 0:
            raise DatasetError(f"{where} is empty")
        if sp.class_names != ref:
            raise DatasetError(f"{where} classes {sp.class_names} differ from train's {ref}")
        if sp.labels.shape != (len(sp.ids), len(ref)) or len(sp.paths) != len(sp.ids):
            raise DatasetError(
                f"{where}: labels shape {sp.labels.shape}, {len(sp.paths)} paths, "
                f"{len(sp.ids)} ids; expected ({len(sp.ids)}, {len(ref)})"
            )
        bad_rows, bad_cols = np.nonzero((sp.labels != 0) & (sp.labels != 1))
        if len(bad_rows):
            shown = ", ".join(
                f"{sp.where(int(i))} column {ref[j]!r}: {sp.labels[i, j]}"
                for i, j in zip(bad_rows[:_MAX_LISTED], bad_cols[:_MAX_LISTED], strict=True)
            )
            raise DatasetError(f"{where}: {len(bad_rows)} non-0/1 label(s): {shown}")
        first: dict[str, int] = {}
        for i, image_id in enumerate(sp.ids):
            if image_id in first:
                raise DatasetError(
                    f"{where}: duplicate id {image_id!r} at {sp.where(first[image_id])} and {sp.where(i)}"
                )
            first[image_id] = i
            if image_id in seen:
                raise DatasetError(f"id {image_id!r} is in both split {seen[image_id]!r} and {sp.where(i)}")
        seen.update(dict.fromkeys(sp.ids, name))
    if check_images:
        _check_images(splits, progress)
    return {name: len(splits[name]) for name in SPLITS}


def _check_images(splits: Mapping[str, Split], progress: Progress | None) -> None:
    items = [(splits[s], i) for s in SPLITS for i in range(len(splits[s]))]
    problems: list[str] = []
    # Threads: the check is I/O bound (stat + read), and PIL releases the GIL while reading.
    workers = min(16, 4 * (os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        results = pool.map(lambda it: _image_problem(Path(it[0].paths[it[1]])), items, chunksize=64)
        for k, ((sp, i), problem) in enumerate(zip(items, results, strict=True), start=1):
            if problem:
                problems.append(f"{sp.where(i)}: {sp.paths[i]}: {problem}")
            if k % 1000 == 0 or k == len(items):
                report(progress, k, len(items), "checking images")
    if problems:
        shown = "\n  ".join(problems[:_MAX_LISTED])
        more = f"\n  ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        raise DatasetError(f"{len(problems)} of {len(items)} images missing or unreadable:\n  {shown}{more}")
