"""The paper's released layout (VITA-Group/PruneCXR): a folder of
``{dataset}_resnet50_seed-{s}_prune-{r}.pkl`` prediction frames plus a folder holding
``miccai2023_{dataset}_labels_{train,test}.csv``, read into :class:`AnalysisInputs` (see
analysis.reports.inputs for our own prediction stores). No Django import."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.reports.inputs import AnalysisInputError, AnalysisInputs, read_label_csv
from common.progress import Progress
from common.progress import report as _report
from common.sparsity import swept


def paper_label_path(labels_dir: str | os.PathLike, dataset: str, split: str) -> Path:
    return Path(labels_dir) / f"miccai2023_{dataset}_labels_{split}.csv"


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
    seed and the float64 seed sum, never all seeds; ``probs`` is None and ``metrics`` is set; the seed
    mean and a few per-seed slices are kept for the "who is forgotten" sections (analysis.core.who)."""
    from analysis.core.streaming import SeedAccumulator
    from analysis.core.who import SeedViewCollector
    from pruning.engine.prunecxr import iter_prunecxr, prunecxr_seeds, prunecxr_sparsities

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
    test_path, train_path = (paper_label_path(labels_dir, dataset, s) for s in ("test", "train"))
    ids, y_test, y_train = _paper_labels(test_path, train_path, first, classes, n, dataset)
    acc = SeedAccumulator(y_test, len(available))
    views = SeedViewCollector(list(classes), available, pie_sparsity)
    sets = itertools.chain([first_set], stream)
    del first_set  # from here on one seed is held at a time
    try:
        _consume(sets, seeds, (acc, views), progress, total)
    finally:
        stream.close()

    _report(progress, total - 1, total, f"selecting PIEs at sparsity {pie_sparsity}")
    mean = acc.ensemble_mean()
    pie_table = _select_pies_from_mean(mean, acc.n_seeds, available, ids, pie_sparsity, pie_q)
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
        metadata=_paper_metadata(dataset, metadata_path),
        ensemble=mean if (np.diff(available) > 0).all() else mean[np.argsort(available, kind="stable")],
        seed_views=views.views(),
        pie_level=pie_sparsity,
    )


def _consume(sets, seeds: list[int], sinks, progress: Progress | None, total: int) -> None:
    """Feed each seed's predictions, as it is read, to every sink (metrics, seed views); one seed at a time."""
    try:
        for i, ps in enumerate(sets):
            _report(progress, 1 + i, total, f"seed {seeds[i]}: reading and metrics ({i + 1}/{len(seeds)})")
            for sink in sinks:
                sink.add(ps.probs)
            del ps
    except ValueError as exc:
        raise AnalysisInputError(str(exc)) from exc


def _paper_labels(
    test_path: Path, train_path: Path, first: Path, classes: list[str], n: int, dataset: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Image ids, test and train labels; the test file must match the predictions' rows (and their own
    ``label`` column, when the frames carry one)."""
    from pruning.engine.data import PAPER_ID_COLUMN
    from pruning.engine.prunecxr import prunecxr_labels

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
    _, y_train = read_label_csv(train_path, classes, first.name)
    id_col = PAPER_ID_COLUMN.get(dataset, "id")
    ids = test_df[id_col].str.strip().tolist() if id_col in test_df.columns else [str(i) for i in range(n)]
    if len(set(ids)) != len(ids):
        ids = [str(i) for i in range(n)]  # duplicate ids cannot key the PIE table; fall back to rows
    return ids, y_test, y_train


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
