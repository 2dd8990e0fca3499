"""From files on disk to the arrays :func:`analysis.core.compute_report` takes.

Two sources, one result (:class:`AnalysisInputs`):

* the paper's released layout (``analysis.reports.paper_inputs.load_paper_layout``): a folder of
  ``{dataset}_resnet50_seed-{s}_prune-{r}.pkl`` prediction frames plus a folder holding
  ``miccai2023_{dataset}_labels_{train,test}.csv``;
* our own prediction stores (``load_stores``): one ``predictions.npz`` per seed plus a dataset
  spec (``pruning.engine.spec.load_splits``) for the train/test labels.

Every mismatch raises :class:`AnalysisInputError` (a ValueError) naming the file and what does
not fit, so the management command and the job show the same message. This module
imports no Django and is shared by the command (shell) and the job (worker).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from common.errors import AppError
from common.labels import read_text_csv, zero_one_labels
from common.progress import Progress
from common.progress import report as _report
from common.sparsity import same_sweep, swept

_SEED_IN_PATH = re.compile(r"seed[-_]?(\d+)", re.IGNORECASE)


class AnalysisInputError(AppError):
    """Input files that do not fit together; the message names the file and the mismatch."""


@dataclass
class AnalysisInputs:
    probs: np.ndarray | None  # float32 [seeds, S, N, C]; None when streamed (``metrics`` instead)
    sparsities: np.ndarray  # [S]
    seeds: list[int]
    image_ids: list[str]
    class_names: list[str]
    labels_test: np.ndarray  # uint8 [N, C], rows in image_ids order
    labels_train: np.ndarray  # uint8 [M, C]
    pie_table: pd.DataFrame | None = None
    hidden_truth: pd.DataFrame | None = None
    weights: list[np.ndarray] | None = None
    sources: list[Path] = field(default_factory=list)  # every file read, for fingerprints
    metrics: object | None = None  # analysis.core ClassMetrics [seeds, S, C], computed while reading
    metadata: pd.DataFrame | None = None  # per-image attributes (common.metadata layout), for the subgroups
    ensemble: np.ndarray | None = None  # seed mean [S, N, C] when streamed (levels ascending)
    seed_views: object | None = None  # analysis.core.who.SeedViews when streamed
    pie_level: float | None = None

    def compute(self, *, experiment: str = "", progress: Progress | None = None, **kwargs):
        """Run the whole report (lazy import: the web process never needs the analysis core)."""
        from analysis.core import compute_report

        return compute_report(
            self.probs,
            self.labels_test,
            self.labels_train,
            self.sparsities,
            self.class_names,
            pie_table=self.pie_table,
            hidden_truth=self.hidden_truth,
            seeds=self.seeds,
            image_ids=self.image_ids,
            weights=self.weights,
            experiment=experiment,
            progress=progress,
            metrics=self.metrics,
            metadata=self.metadata,
            ensemble=self.ensemble,
            seed_views=self.seed_views,
            pie_level=self.pie_level,
            **kwargs,
        )


# --- label CSVs --------------------------------------------------------------------------------


def read_label_csv(path: Path, class_names: Sequence[str], against: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a label CSV as text; check it has every class column of ``against`` and 0/1 cells."""
    df = read_text_csv(path, AnalysisInputError, "label file not found")
    missing = [c for c in class_names if c not in df.columns]
    if missing:
        raise AnalysisInputError(
            f"{path}: class columns differ from the predictions in {against}: missing {missing} "
            f"(the label file has {list(df.columns)})"
        )
    labels, col, bad = zero_one_labels(df, class_names)
    if col is not None:
        raise AnalysisInputError(
            f"{path}: column {col!r} must hold 0/1 labels; line {bad[0] + 2} has {df[col].iat[bad[0]]!r}"
        )
    return df, labels


def _select_pies(sets, sparsity: float, q: float, where: str) -> pd.DataFrame:
    from pruning.engine.pies import select_pies_from_sets

    available = sets[0].sparsities
    if not swept(available, sparsity):
        raise AnalysisInputError(
            f"{where}: PIE sparsity {sparsity} is not among the sparsities found {available.tolist()}; "
            "choose one of them (--pie-sparsity)"
        )
    return select_pies_from_sets(sets, sparsity=sparsity, q=q).table


# --- our prediction stores ---------------------------------------------------------------------


def seeds_from_paths(paths: Sequence[str | os.PathLike]) -> list[int]:
    """Seed numbers from ``.../seed-3/...`` style paths when every path names a distinct one, else 0..n-1."""
    found = []
    for p in paths:
        hits = _SEED_IN_PATH.findall(str(p))
        found.append(int(hits[-1]) if hits else None)
    if None not in found and len(set(found)) == len(found):
        return found
    return list(range(len(paths)))


def load_splits(spec: dict) -> dict:
    """Train/val/test splits of a dataset spec (pruning's spec loader)."""
    from pruning.engine.spec import load_splits as _load

    try:
        return _load(spec)
    except ValueError as exc:
        raise AnalysisInputError(str(exc)) from exc


def hidden_truth_for(spec: dict) -> pd.DataFrame | None:
    """The synthetic dataset's hidden truth (``image_id``, ``label_noise``, ``quality``), else None."""
    from pruning.engine.spec import hidden_truth_path

    path = hidden_truth_path(spec)
    if not path or not Path(path).is_file():
        return None
    return read_hidden_truth(Path(path))


def read_hidden_truth(path: Path) -> pd.DataFrame:
    ht = pd.read_csv(path)
    if "image_id" not in ht.columns and "id" in ht.columns:
        ht = ht.rename(columns={"id": "image_id"})
    return ht


def checkpoint_weights(path: str | os.PathLike) -> list[np.ndarray]:
    """Conv2d and Linear weights of a saved model: 4-D and 2-D ``*.weight`` tensors of its state dict
    (BatchNorm weights are 1-D and biases are not ``.weight``, so both stay out, as in the paper)."""
    import torch

    path = Path(path)
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise AnalysisInputError(f"{path}: checkpoint could not be read ({exc})") from exc
    state = ck.get("model", ck) if isinstance(ck, dict) else None
    if not isinstance(state, dict):
        raise AnalysisInputError(f"{path}: no state dict (expected a dict or {{'model': state_dict}})")
    weights = [
        v.detach().float().numpy()
        for k, v in state.items()
        if k.endswith(".weight") and hasattr(v, "ndim") and v.ndim in (2, 4)
    ]
    if not weights:
        raise AnalysisInputError(f"{path}: no Conv2d or Linear weights in the state dict")
    return weights


def load_stores(
    paths: Sequence[str | os.PathLike],
    dataset_spec: dict,
    *,
    pie_table_path: str | os.PathLike | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    hidden_truth_path: str | os.PathLike | None = None,
    seeds: Sequence[int] | None = None,
    pie_sparsity: float = 0.9,
    pie_q: float = 0.05,
    progress: Progress | None = None,
    metadata_path: str | os.PathLike | None = None,
) -> AnalysisInputs:
    """Stores (one per seed) + the dataset's train/test labels (+ PIE table, checkpoint, hidden truth).

    Test labels are matched to the stores' image ids; without ``pie_table_path`` the PIEs are
    selected from the stores (dense vs ``pie_sparsity``) when that sparsity is present.
    """
    from pruning.engine.store import stack_seeds

    if not paths:
        raise AnalysisInputError("no prediction stores given")
    paths = [Path(p) for p in paths]
    total = len(paths) + 3
    sets = _read_stores(paths, progress, total)
    probs, sparsities, ids, classes = stack_seeds(sets)

    _report(progress, len(paths), total, "reading labels")
    splits = load_splits(dataset_spec)
    y_test = _aligned_labels(splits["test"], ids, classes, paths[0])
    train = splits["train"]
    if list(train.class_names) != list(classes):
        raise AnalysisInputError(
            f"{getattr(train, 'source', None) or 'train split'}: classes {train.class_names} differ from {paths[0]} "
            f"({classes})"
        )
    sources = [*paths]
    for split in (splits["test"], train):
        if getattr(split, "source", None):
            sources.append(Path(split.source))

    _report(progress, len(paths) + 1, total, "PIEs")
    if pie_table_path:
        pie_table = _read_pie_table(Path(pie_table_path))
        sources.append(Path(pie_table_path))
    elif swept(sparsities, pie_sparsity):
        pie_table = _select_pies(sets, pie_sparsity, pie_q, where=str(paths[0]))
    else:
        pie_table = None
    weights = None
    if checkpoint_path:
        _report(progress, len(paths) + 2, total, "reading checkpoint weights")
        weights = checkpoint_weights(checkpoint_path)
        sources.append(Path(checkpoint_path))
    truth = read_hidden_truth(Path(hidden_truth_path)) if hidden_truth_path else hidden_truth_for(dataset_spec)
    metadata = _metadata_for(dataset_spec, metadata_path)
    if metadata_path:
        sources.append(Path(metadata_path))
    _report(progress, total, total, "inputs loaded")
    return AnalysisInputs(
        probs=probs,
        sparsities=sparsities,
        seeds=list(seeds) if seeds is not None else seeds_from_paths(paths),
        image_ids=list(ids),
        class_names=list(classes),
        labels_test=y_test,
        labels_train=train.labels,
        pie_table=pie_table,
        hidden_truth=truth,
        weights=weights,
        sources=sources,
        metadata=metadata,
        pie_level=pie_sparsity,
    )


def _read_stores(paths: list[Path], progress: Progress | None, total: int) -> list:
    """Every store, complete and matching the first (classes, image ids, sparsities)."""
    from pruning.engine.store import PredictionSet

    sets = []
    for i, p in enumerate(paths):
        _report(progress, i, total, f"reading {p.name} ({i + 1}/{len(paths)})")
        if not p.is_file():
            raise AnalysisInputError(f"{p}: prediction store not found")
        try:
            sets.append(PredictionSet.load(p))
        except ValueError as exc:
            raise AnalysisInputError(str(exc)) from exc
    for p, ps in zip(paths, sets, strict=True):
        if not ps.complete:
            raise AnalysisInputError(f"{p}: sparsities {ps.sparsities[~ps.done].tolist()} are not finished")
        if ps.class_names != sets[0].class_names:
            raise AnalysisInputError(
                f"{p}: class names {ps.class_names} differ from {paths[0]} ({sets[0].class_names})"
            )
        if ps.image_ids != sets[0].image_ids:
            raise AnalysisInputError(f"{p}: image ids differ from {paths[0]}")
        if not same_sweep(ps.sparsities, sets[0].sparsities):
            raise AnalysisInputError(
                f"{p}: sparsities {ps.sparsities.tolist()} differ from {paths[0]} ({sets[0].sparsities.tolist()})"
            )
    return sets


def _metadata_for(spec: dict, metadata_path) -> pd.DataFrame | None:
    from pruning.engine.metadata import metadata_for

    return metadata_for(spec, metadata_path)


def _aligned_labels(split, ids: list[str], classes: list[str], store: Path) -> np.ndarray:
    where = getattr(split, "source", None) or f"split {split.name!r}"
    if list(split.class_names) != list(classes):
        raise AnalysisInputError(f"{where}: classes {split.class_names} differ from {store} ({classes})")
    if len(split.ids) != len(ids):
        raise AnalysisInputError(f"{where}: {len(split.ids)} label rows but {store} has {len(ids)} images")
    row = {i: k for k, i in enumerate(split.ids)}
    missing = [i for i in ids if i not in row]
    if missing:
        raise AnalysisInputError(f"{where}: no label row for image id {missing[0]!r} of {store}")
    return np.asarray(split.labels)[[row[i] for i in ids]]


def _read_pie_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise AnalysisInputError(f"{path}: PIE table not found")
    table = pd.read_csv(path, dtype={"image_id": str}) if path.suffix == ".csv" else pd.read_parquet(path)
    for col in ("image_index", "is_pie"):
        if col not in table.columns:
            raise AnalysisInputError(f"{path}: PIE table lacks column {col!r} (has {list(table.columns)})")
    table["is_pie"] = table["is_pie"].astype(str).str.lower().isin({"true", "1"})
    meta = path.with_suffix(".json")
    if meta.is_file():
        with contextlib.suppress(ValueError):  # attrs are informative only; a bad sidecar is ignored
            table.attrs.update(json.loads(meta.read_text()))
    return table


# --- fingerprints (the job skips work whose inputs did not change) -------------------------------


def fingerprint(sources: Sequence[Path], params: dict) -> str:
    """Hash of the parameters and every input file's path, size and modification time."""
    h = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    for p in sorted(str(s) for s in sources):
        try:
            st = os.stat(p)
            h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{p}\0missing\n".encode())
    return h.hexdigest()
