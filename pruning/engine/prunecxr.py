"""Import and export of the PruneCXR paper's released prediction layout.

The paper (``src/prune.py``, ``src/utils.py:evaluate_prune``) writes one pickled pandas DataFrame
per (seed, sparsity), all in one folder::

    {dataset}_resnet50_seed-{seed}_prune-{ratio}.pkl     e.g. nih-cxr-lt_resnet50_seed-3_prune-0.45.pkl

``dataset`` is ``nih-cxr-lt`` or ``mimic-cxr-lt``; ``ratio`` is ``0`` for the dense model and
Python's ``str`` of the float otherwise (``0.05``, ``0.1``, ..., ``0.95``). Each frame has a
default RangeIndex (test-set row order, no image ids), one float column of sigmoid outputs per
class in the paper's class order, and a ``label`` column: the ground-truth positive class names
joined with ``|``. The validation-set file (``..._prune-0_val.pkl``) is not part of the layout.

Pickles can run code when loaded: import only files from a source you trust.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from common.files import atomic_write

from .store import PredictionSet

_NAME = re.compile(r"^(?P<dataset>.+)_(?P<arch>[A-Za-z0-9]+)_seed-(?P<seed>\d+)_prune-(?P<ratio>\d+(?:\.\d+)?)\.pkl$")


def format_ratio(sparsity: float) -> str:
    """``0`` for dense, else the shortest float repr (0.15000000000000002 -> ``0.15``)."""
    r = round(float(sparsity), 10)
    return "0" if r == 0 else repr(r)


def prunecxr_filename(dataset: str, seed: int, sparsity: float, arch: str = "resnet50") -> str:
    return f"{dataset}_{arch}_seed-{seed}_prune-{format_ratio(sparsity)}.pkl"


def labels_to_strings(labels: np.ndarray, class_names: list[str]) -> list[str]:
    """Ground-truth rows -> ``"Effusion|Mass"`` strings, as the paper's ``label`` column."""
    names = np.asarray(class_names, dtype=object)
    return ["|".join(names[np.flatnonzero(row)]) for row in np.asarray(labels)]


def strings_to_labels(strings, class_names: list[str], source: str = "label column") -> np.ndarray:
    """Inverse of :func:`labels_to_strings` -> uint8 [N, C]."""
    col = {c: j for j, c in enumerate(class_names)}
    out = np.zeros((len(strings), len(class_names)), dtype=np.uint8)
    for i, s in enumerate(strings):
        for name in filter(None, str(s).split("|")) if isinstance(s, str) else ():
            if name not in col:
                raise ValueError(f"{source}, row {i}: unknown class {name!r} in label {s!r}")
            out[i, col[name]] = 1
    return out


def export_prunecxr(
    sets: list[PredictionSet],
    dataset: str,
    out_dir: str | os.PathLike,
    labels: np.ndarray,
    seeds: list[int] | None = None,
    arch: str = "resnet50",
) -> list[Path]:
    """Write every (seed, sparsity) of ``sets`` (one complete set per seed) in the paper's layout.

    ``labels`` uint8 [N, C] (test set, same image and class order) fill the ``label`` column.
    Files are written atomically; returns their paths.
    """
    seeds = list(range(len(sets))) if seeds is None else list(seeds)
    if len(seeds) != len(sets):
        raise ValueError(f"{len(seeds)} seeds for {len(sets)} prediction sets")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for seed, ps in zip(seeds, sets, strict=True):
        if not ps.complete:
            raise ValueError(f"seed {seed}: sparsities {ps.sparsities[~ps.done].tolist()} are not done")
        if np.shape(labels) != ps.probs.shape[1:]:
            raise ValueError(f"labels shape {np.shape(labels)} != predictions {ps.probs.shape[1:]} (seed {seed})")
        label_col = labels_to_strings(labels, ps.class_names)
        for s, r in enumerate(ps.sparsities):
            df = pd.DataFrame(ps.probs[s], columns=ps.class_names)
            df["label"] = label_col
            path = out / prunecxr_filename(dataset, seed, r, arch)
            atomic_write(path, lambda f, df=df: df.to_pickle(f))
            written.append(path)
    return written


def _scan(folder: Path, dataset: str, arch: str) -> dict[int, dict[float, Path]]:
    found: dict[int, dict[float, Path]] = {}
    for path in sorted(folder.iterdir()):
        m = _NAME.match(path.name)
        if not m or m["dataset"] != dataset or m["arch"] != arch:
            continue
        found.setdefault(int(m["seed"]), {})[round(float(m["ratio"]), 10)] = path
    return found


def _read_frame(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_pickle(path)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable pickled DataFrame: {exc}") from exc
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{path}: holds a {type(df).__name__}, not a DataFrame")
    return df


def import_prunecxr(
    folder: str | os.PathLike, dataset: str, image_ids: list[str] | None = None, arch: str = "resnet50"
) -> list[PredictionSet]:
    """Read the paper's layout from ``folder`` -> one complete PredictionSet per seed (by seed).

    Seeds and sparsities are discovered from file names; every seed must have the same
    sparsities, and every file the same class columns and row count. Image ids default to the
    frames' index as strings (the paper's files have none: ``"0"``, ``"1"``, ...).
    """
    return list(iter_prunecxr(folder, dataset, image_ids, arch))


def _plan(folder: Path, dataset: str, arch: str) -> tuple[list[int], list[float], dict[int, dict[float, Path]]]:
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    found = _scan(folder, dataset, arch)
    if not found:
        raise ValueError(f"{folder}: no files named {dataset}_{arch}_seed-<s>_prune-<r>.pkl")
    all_ratios = sorted({r for per_seed in found.values() for r in per_seed})
    for seed, per_seed in sorted(found.items()):
        missing = [r for r in all_ratios if r not in per_seed]
        if missing:
            name = prunecxr_filename(dataset, seed, missing[0], arch)
            raise ValueError(f"{folder}: seed {seed} has no file for sparsity {missing[0]} (expected {name})")
    return sorted(found), all_ratios, found


def _read_values(path: Path) -> tuple[list[str], pd.Index, np.ndarray]:
    """(class columns, index, float32 values) of one file; runs in a reader thread."""
    df = _read_frame(path)
    if "label" in df.columns:
        # In place: the class columns stay one float block, which to_numpy then views without a
        # copy (df[cols] takes four times as long, and this runs under the GIL).
        del df["label"]
    cols = list(df.columns)
    try:
        values = df.to_numpy(dtype=np.float32, copy=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: class columns are not all numeric ({exc})") from exc
    return cols, df.index, values


def iter_prunecxr(
    folder: str | os.PathLike,
    dataset: str,
    image_ids: list[str] | None = None,
    arch: str = "resnet50",
    *,
    workers: int = 4,
) -> Iterator[PredictionSet]:
    """:func:`import_prunecxr` one seed at a time (seed order), so callers need not hold them all.

    Each seed's files are read by ``workers`` threads, and the next seed's files are read while
    the caller works on this one: unpickling holds the GIL, but numpy (the caller's sorting,
    say) mostly does not, so the two overlap on a multi-core machine. Checks and messages are
    those of :func:`import_prunecxr`, in file order.
    """
    folder = Path(folder)
    seeds, all_ratios, found = _plan(folder, dataset, arch)
    classes, ids, n_rows, ref = None, image_ids, None, None
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="prunecxr-read") as pool:

        def submit(seed: int) -> list[tuple[Path, Future]]:
            return [(found[seed][r], pool.submit(_read_values, found[seed][r])) for r in all_ratios]

        pending = submit(seeds[0])
        try:
            for i, _seed in enumerate(seeds):
                current = pending
                pending = submit(seeds[i + 1]) if i + 1 < len(seeds) else []
                probs = np.empty((len(all_ratios), 0, 0), dtype=np.float32)
                for k in range(len(current)):
                    path, future = current[k]
                    current[k] = None  # each file's values go once copied: the caller holds one seed, not two
                    cols, index, values = future.result()
                    if classes is None:
                        classes, n_rows, ref = cols, len(values), path
                        ids = [str(i) for i in (image_ids if image_ids is not None else index)]
                        if len(ids) != n_rows:
                            raise ValueError(f"{path}: {n_rows} rows but {len(ids)} image ids given")
                    elif cols != classes:
                        extra, lost = sorted(set(cols) - set(classes)), sorted(set(classes) - set(cols))
                        detail = f"extra {extra}, missing {lost}" if extra or lost else "same names, other order"
                        raise ValueError(f"{path}: class columns differ from {ref.name} ({detail})")
                    elif len(values) != n_rows:
                        raise ValueError(f"{path}: {len(values)} rows, {ref.name} has {n_rows}")
                    if not np.isfinite(values).all():
                        row = int(np.argwhere(~np.isfinite(values))[0][0])
                        raise ValueError(f"{path}: non-finite prediction in row {row}")
                    if k == 0:
                        probs = np.empty((len(all_ratios), *values.shape), dtype=np.float32)
                    probs[k] = values
                future = values = index = None
                yield PredictionSet(probs, np.asarray(all_ratios), ids, classes)
        finally:
            for _, future in pending:  # an error or an abandoned iterator: stop reading ahead
                future.cancel()


def prunecxr_seeds(folder: str | os.PathLike, dataset: str, arch: str = "resnet50") -> list[int]:
    """Seeds present in ``folder`` for ``dataset`` (the order of :func:`import_prunecxr`)."""
    return sorted(_scan(Path(folder), dataset, arch))


def prunecxr_sparsities(folder: str | os.PathLike, dataset: str, arch: str = "resnet50") -> list[float]:
    """Sparsities present in ``folder`` for ``dataset``, ascending (checked complete per seed)."""
    return _plan(Path(folder), dataset, arch)[1]


def prunecxr_labels(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """Ground truth from one file's ``label`` column -> (uint8 [N, C], class names)."""
    path = Path(path)
    df = _read_frame(path)
    if "label" not in df.columns:
        raise ValueError(f"{path}: no 'label' column")
    classes = [c for c in df.columns if c != "label"]
    return strings_to_labels(df["label"].tolist(), classes, f"{path}: label column"), classes
