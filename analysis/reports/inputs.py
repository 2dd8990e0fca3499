"""From files on disk to the arrays :func:`analysis.core.compute_report` takes.

Two sources, one result (:class:`AnalysisInputs`):

* the paper's released layout (``load_paper_layout``): a folder of
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from common.sparsity import same_sweep, swept

Progress = Callable[[int, int, str], None]
_TRUE, _FALSE = {"1", "1.0"}, {"0", "0.0"}
_SEED_IN_PATH = re.compile(r"seed[-_]?(\d+)", re.IGNORECASE)


class AnalysisInputError(ValueError):
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


def _report(progress: Progress | None, done: int, total: int, message: str) -> None:
    if progress is not None:
        progress(done, total, message)


# --- label CSVs --------------------------------------------------------------------------------


def paper_label_path(labels_dir: str | os.PathLike, dataset: str, split: str) -> Path:
    return Path(labels_dir) / f"miccai2023_{dataset}_labels_{split}.csv"


def read_label_csv(path: Path, class_names: Sequence[str], against: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a label CSV as text; check it has every class column of ``against`` and 0/1 cells."""
    if not path.is_file():
        raise AnalysisInputError(f"{path}: label file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise AnalysisInputError(f"{path}: not a readable CSV file ({exc})") from exc
    missing = [c for c in class_names if c not in df.columns]
    if missing:
        raise AnalysisInputError(
            f"{path}: class columns differ from the predictions in {against}: missing {missing} "
            f"(the label file has {list(df.columns)})"
        )
    labels = np.zeros((len(df), len(class_names)), dtype=np.uint8)
    for j, col in enumerate(class_names):
        cells = df[col]
        ones, zeros = cells.isin(_TRUE).to_numpy(), cells.isin(_FALSE).to_numpy()
        if not (ones | zeros).all():  # strip only when needed: a Python call per cell is slow at scale
            cells = cells.str.strip()
            ones, zeros = cells.isin(_TRUE).to_numpy(), cells.isin(_FALSE).to_numpy()
        bad = np.flatnonzero(~(ones | zeros))
        if len(bad):
            raise AnalysisInputError(
                f"{path}: column {col!r} must hold 0/1 labels; line {bad[0] + 2} has {df[col].iat[bad[0]]!r}"
            )
        labels[:, j] = ones
    return df, labels


# --- the paper's released layout -----------------------------------------------------------------


def paper_prediction_files(preds_dir: str | os.PathLike, dataset: str) -> list[Path]:
    pattern = re.compile(rf"^{re.escape(dataset)}_[A-Za-z0-9]+_seed-\d+_prune-\d+(?:\.\d+)?\.pkl$")
    folder = Path(preds_dir)
    return sorted(p for p in folder.iterdir() if pattern.match(p.name)) if folder.is_dir() else []


def load_paper_layout(
    preds_dir: str | os.PathLike,
    labels_dir: str | os.PathLike,
    dataset: str,
    *,
    pie_sparsity: float = 0.9,
    pie_q: float = 0.05,
    progress: Progress | None = None,
    workers: int = 4,
    metadata_path: str | os.PathLike | None = None,
) -> AnalysisInputs:
    """Per-class metrics, labels and PIEs from the paper's released files.

    Seeds and sparsities come from the file names (``iter_prunecxr``). Test labels come from
    ``miccai2023_{dataset}_labels_test.csv`` (row ``i`` is prediction row ``i``, as in the paper's
    code); when the prediction frames carry a ``label`` column it must agree with that file.
    Train labels give the class frequencies. PIEs: seed-averaged dense vs ``pie_sparsity``.

    Streams: one seed's files at a time (read by ``workers`` threads, the next seed while this
    one is scored) into :class:`analysis.core.streaming.SeedAccumulator`, so memory holds one
    seed and the float64 seed sum, never all seeds; ``probs`` is None and ``metrics`` is set.
    """
    from analysis.core.streaming import SeedAccumulator
    from analysis.core.who import SeedViewCollector
    from pruning.engine.data import PAPER_ID_COLUMN
    from pruning.engine.prunecxr import iter_prunecxr, prunecxr_labels, prunecxr_seeds, prunecxr_sparsities

    preds_dir, labels_dir = Path(preds_dir), Path(labels_dir)
    if not preds_dir.is_dir():
        raise AnalysisInputError(f"{preds_dir}: predictions folder not found")
    if not labels_dir.is_dir():
        raise AnalysisInputError(f"{labels_dir}: labels folder not found")
    files = paper_prediction_files(preds_dir, dataset)
    try:
        seeds = prunecxr_seeds(preds_dir, dataset)
        available = np.asarray(prunecxr_sparsities(preds_dir, dataset))
        stream = iter_prunecxr(preds_dir, dataset, workers=workers)
        first_set = next(stream)
    except ValueError as exc:
        raise AnalysisInputError(str(exc)) from exc
    if not swept(available, pie_sparsity):
        raise AnalysisInputError(
            f"{preds_dir}: PIE sparsity {pie_sparsity} is not among the sparsities found {available.tolist()}; "
            "choose one of them (--pie-sparsity)"
        )
    first = files[0]
    classes, n = first_set.class_names, len(first_set.image_ids)
    total = len(seeds) + 2

    _report(progress, 0, total, "reading labels")
    test_path = paper_label_path(labels_dir, dataset, "test")
    test_df, y_test = read_label_csv(test_path, classes, first.name)
    if len(test_df) != n:
        raise AnalysisInputError(
            f"{test_path}: {len(test_df)} label rows but the predictions have {n} rows ({first.name})"
        )
    y_file, _ = prunecxr_labels(first) if "label" in pd.read_pickle(first).columns else (None, None)
    if y_file is not None:
        diff = np.flatnonzero((y_file != y_test).any(axis=1))
        if len(diff):
            raise AnalysisInputError(
                f"{test_path}: labels differ from the 'label' column of {first.name} at row {diff[0]} "
                f"({len(diff)} rows differ); is the label file for the same test set and order?"
            )
    train_path = paper_label_path(labels_dir, dataset, "train")
    _, y_train = read_label_csv(train_path, classes, first.name)
    id_col = PAPER_ID_COLUMN.get(dataset, "id")
    ids = test_df[id_col].str.strip().tolist() if id_col in test_df.columns else [str(i) for i in range(n)]
    if len(set(ids)) != len(ids):
        ids = [str(i) for i in range(n)]  # duplicate ids cannot key the PIE table; fall back to rows

    acc = SeedAccumulator(y_test, len(available))
    views = SeedViewCollector(list(classes), available, pie_sparsity)
    try:
        _report(progress, 1, total, f"seed {seeds[0]}: metrics (1/{len(seeds)})")
        acc.add(first_set.probs)
        views.add(first_set.probs)
        del first_set  # from here on one seed is held at a time
        for i, ps in enumerate(stream, start=1):
            _report(progress, 1 + i, total, f"seed {seeds[i]}: reading and metrics ({i + 1}/{len(seeds)})")
            acc.add(ps.probs)
            views.add(ps.probs)
            del ps
    except ValueError as exc:
        raise AnalysisInputError(str(exc)) from exc
    finally:
        stream.close()

    _report(progress, total - 1, total, f"selecting PIEs at sparsity {pie_sparsity}")
    mean = acc.ensemble_mean()
    pie_table = _select_pies_from_mean(mean, acc.n_seeds, available, ids, pie_sparsity, pie_q)
    metadata = _paper_metadata(dataset, metadata_path)
    _report(progress, total, total, "inputs loaded")
    return AnalysisInputs(
        probs=None,
        sparsities=available,
        seeds=seeds,
        image_ids=ids,
        class_names=list(classes),
        labels_test=y_test,
        labels_train=y_train,
        pie_table=pie_table,
        sources=[*files, test_path, train_path, *([Path(metadata_path)] if metadata_path else [])],
        metrics=acc.metrics(),
        metadata=metadata,
        ensemble=mean if (np.diff(available) > 0).all() else mean[np.argsort(available, kind="stable")],
        seed_views=views.views(),
        pie_level=pie_sparsity,
    )


def _paper_metadata(dataset: str, metadata_path) -> pd.DataFrame | None:
    """A metadata CSV when given; NIH-CXR-LT joins the NIH table by image id without one."""
    from common.metadata import read_metadata_csv
    from pruning.engine.metadata import nih_metadata

    if metadata_path:
        return read_metadata_csv(metadata_path)
    return nih_metadata() if dataset == "nih-cxr-lt" else None


def _select_pies_from_mean(mean, n_seeds, sparsities: np.ndarray, ids: list[str], sparsity: float, q: float):
    from pruning.engine.pies import select_pies_from_mean

    # the engine reads the mean only; the report keeps it for the calibration and subgroup sections
    return select_pies_from_mean(mean, sparsities, sparsity, q, ids, n_seeds=n_seeds).table


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
    from pruning.engine.store import PredictionSet, stack_seeds

    if not paths:
        raise AnalysisInputError("no prediction stores given")
    paths = [Path(p) for p in paths]
    total = len(paths) + 3
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
