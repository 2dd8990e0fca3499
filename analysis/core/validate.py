"""Input checks for :func:`analysis.core.report.compute_report`: every error names the array."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from common.errors import AppError

from .metrics import ClassMetrics, MetricsInputError, check_labels


class ReportInputError(AppError):
    """Inputs to the report that do not fit together (shapes, names, sparsities)."""


@dataclass(frozen=True)
class ReportInputs:
    probs: np.ndarray | None  # [seeds, S, N, C], sparsities ascending (None when metrics are given)
    labels: np.ndarray  # uint8 [N, C]
    train_counts: np.ndarray  # int [C]
    sparsities: np.ndarray  # [S] ascending, first is 0
    class_names: list[str]
    seeds: list[int]
    image_ids: list[str] | None
    metrics: ClassMetrics | None = None  # [seeds, S, C] each, sparsities ascending


def _metric_shape(metrics: ClassMetrics) -> tuple[int, int, int]:
    shapes = {np.shape(metrics.auc), np.shape(metrics.ap), np.shape(metrics.f1)}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        raise ReportInputError(f"metrics must be three equal [seeds, S, C] arrays; got shapes {sorted(shapes)}")
    return next(iter(shapes))


def _class_columns(table, class_names: Sequence[str], name: str) -> np.ndarray:
    if isinstance(table, pd.DataFrame):
        missing = [c for c in class_names if c not in table.columns]
        if missing:
            raise ReportInputError(f"{name} lacks class columns {missing}")
        return table[list(class_names)].to_numpy()
    return np.asarray(table)


def validate_inputs(
    probs, labels_test, labels_train, sparsities, class_names, seeds, image_ids, metrics: ClassMetrics | None = None
) -> ReportInputs:
    """Checked inputs, sparsities sorted ascending. Either ``probs`` [seeds, S, N, C] (or [S, N, C])
    or, with ``probs=None``, precomputed ``metrics`` [seeds, S, C] (see analysis.core.streaming)."""
    names = [str(c) for c in class_names]
    if len(set(names)) != len(names):
        raise ReportInputError(f"class_names has duplicates: {names}")
    if (probs is None) == (metrics is None):
        raise ReportInputError("give either probs or metrics")
    if probs is None:
        n_seeds, n_s, c = _metric_shape(metrics)
        p, n, what = None, None, f"metrics {(n_seeds, n_s, c)}"
    else:
        p = np.asarray(probs)
        if p.ndim == 3:
            p = p[None]
        if p.ndim != 4:
            raise ReportInputError(f"probs must be [seeds, S, N, C]; got shape {np.shape(probs)}")
        n_seeds, n_s, n, c = p.shape
        what = f"probs {p.shape}"
    if c != len(names):
        raise ReportInputError(f"probs has {c} classes ({what}) but class_names has {len(names)}")
    try:
        y = check_labels(_class_columns(labels_test, names, "labels_test"), "labels_test")
    except MetricsInputError as e:
        raise ReportInputError(str(e)) from None
    n = y.shape[0] if n is None else n
    if y.shape != (n, c):
        raise ReportInputError(f"labels_test shape {y.shape} does not match probs [N={n}, C={c}] ({what})")
    tr = _class_columns(labels_train, names, "labels_train")
    if tr.ndim == 2:
        if tr.shape[1] != c:
            raise ReportInputError(f"labels_train shape {tr.shape} has {tr.shape[1]} classes, not {c}")
        try:
            counts = check_labels(tr, "labels_train").sum(axis=0, dtype=np.int64)
        except MetricsInputError as e:
            raise ReportInputError(str(e)) from None
    elif tr.ndim == 1 and tr.shape[0] == c:
        counts = tr.astype(np.int64)
        if (counts < 0).any() or not np.array_equal(counts, tr):
            raise ReportInputError(f"train_counts must be non-negative integers; got {tr.tolist()}")
    else:
        raise ReportInputError(f"labels_train must be [M, {c}] labels or [{c}] counts; got shape {tr.shape}")
    s = np.asarray(sparsities, dtype=float)
    if s.shape != (n_s,):
        raise ReportInputError(f"sparsities has shape {s.shape} but probs has {n_s} sparsities ({what})")
    if np.unique(s).size != s.size:
        raise ReportInputError(f"sparsities has duplicates: {s.tolist()}")
    if not np.any(s == 0):
        raise ReportInputError(f"sparsities must include 0 (the dense baseline); got {s.tolist()}")
    order = np.argsort(s, kind="stable")
    if not np.array_equal(order, np.arange(n_s)):
        s = s[order]
        if p is not None:
            p = p[:, order]
        else:
            metrics = ClassMetrics(metrics.auc[:, order], metrics.ap[:, order], metrics.f1[:, order])
    sd = list(range(n_seeds)) if seeds is None else [int(x) for x in seeds]
    if len(sd) != n_seeds:
        raise ReportInputError(f"seeds has {len(sd)} entries but probs has {n_seeds} seeds ({what})")
    ids = None if image_ids is None else [str(i) for i in image_ids]
    if ids is not None and len(ids) != n:
        raise ReportInputError(f"image_ids has {len(ids)} entries but probs has N={n} images")
    return ReportInputs(p, y, counts, s, names, sd, ids, metrics)
