"""Exact per-class AUROC, average precision and F1, vectorised over classes and prediction sets.

Semantics match scikit-learn (``roc_auc_score``, ``average_precision_score``, ``f1_score``):

* AUROC is the trapezoidal area under the ROC curve with tied scores forming one threshold,
  i.e. the Mann-Whitney statistic with ties counted one half.
* AP is the non-interpolated sum over distinct thresholds of (R_t - R_{t-1}) * P_t.
* F1 uses the paper's threshold: ``y_hat.round()`` -- numpy rounds half to even, so a score of
  exactly 0.5 is negative; positive iff score > 0.5.

Convention for degenerate classes (documented, tested): a class with **no positive** test image
gets NaN for AUROC, AP and F1 (scikit-learn returns nan for AUROC, 0.0 for AP and 0.0 for F1 with
``zero_division=0``; a 0.0 would silently drag class means down, so we use NaN and every mean in
this package skips NaN). A class with **no negatives** gets NaN AUROC (undefined) and AP = 1.0
(scikit-learn's value).

Speed: each (prediction set, class) column is sorted exactly once. For non-negative scores (all
sigmoid outputs) the float bits shifted left by one, OR the label, give an integer key whose order
is the score order (the freed bit is the sign bit), so one ``np.sort`` of plain integers replaces
``argsort`` + gather. Ties are then grouped by comparing neighbouring keys without the label bit,
and every quantity is an integer count until the final division, so the results equal
scikit-learn's to float rounding (< 1e-12).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

Progress = Callable[[int, int, str], None]

# Elements (columns x images) per chunk: bounds peak memory at a few hundred MB.
_CHUNK_ELEMENTS = 1 << 20


class MetricsInputError(ValueError):
    """Bad probabilities or labels (shape, dtype, NaN, non-binary labels)."""


@dataclass(frozen=True)
class ClassMetrics:
    """Per-class metrics; each array has the leading shape of ``probs`` without N, plus C."""

    auc: np.ndarray
    ap: np.ndarray
    f1: np.ndarray


def check_labels(labels: np.ndarray, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as a uint8 0/1 matrix [N, C] or raise naming the first bad value."""
    arr = np.asarray(labels)
    if arr.ndim != 2:
        raise MetricsInputError(f"{name} must be 2-D [N, C]; got shape {arr.shape}")
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise MetricsInputError(f"{name} must be 0/1; {name}[{i}, {j}] = {arr[i, j].item()!r}")
    return arr.astype(np.uint8, copy=False)


def class_metrics(
    probs: np.ndarray,
    labels: np.ndarray,
    *,
    threshold: float = 0.5,
    progress: Progress | None = None,
) -> ClassMetrics:
    """AUROC, AP and F1 per class for every prediction set in ``probs``.

    ``probs`` has shape [..., N, C] (e.g. [seeds, S, N, C] or [N, C]); ``labels`` [N, C] in {0, 1}.
    Returns arrays of shape [..., C]. F1 counts a score as positive iff it is > ``threshold``.
    """
    y = check_labels(labels, "labels")
    p = np.asarray(probs)
    if p.ndim < 2 or p.shape[-2:] != y.shape:
        raise MetricsInputError(
            f"probs shape {p.shape} does not end with labels shape {y.shape} ([..., N, C] vs [N, C])"
        )
    if not np.issubdtype(p.dtype, np.floating) or p.dtype.itemsize not in (4, 8):
        p = p.astype(np.float64)
    lead, (n, c) = p.shape[:-2], p.shape[-2:]
    flat = p.reshape((-1, n, c))
    n_sets = flat.shape[0]
    auc = np.empty((n_sets, c))
    ap = np.empty((n_sets, c))
    f1 = np.empty((n_sets, c))
    y_t = np.ascontiguousarray(y.T)  # [C, N]
    n_pos = y_t.sum(axis=1, dtype=np.int64)
    per_chunk = max(1, _CHUNK_ELEMENTS // max(1, n * c))
    for start in range(0, n_sets, per_chunk):
        stop = min(n_sets, start + per_chunk)
        # [k, C, N] contiguous copy: each (set, class) column becomes one row to sort.
        chunk = np.ascontiguousarray(flat[start:stop].transpose(0, 2, 1))
        if np.isnan(chunk).any():
            k, j, i = map(int, np.argwhere(np.isnan(chunk))[0])
            idx = [int(v) for v in np.unravel_index(start + k, lead)] if lead else []
            raise MetricsInputError(f"probs{idx + [i, j]} is NaN")
        a, b = _rank_metrics(chunk, y_t)
        auc[start:stop], ap[start:stop] = a, b
        f1[start:stop] = _f1(chunk, y_t, threshold)
        if progress is not None:
            progress(stop, n_sets, "class metrics")
    auc[:, n_pos == 0] = np.nan
    auc[:, n_pos == n] = np.nan
    ap[:, n_pos == 0] = np.nan
    f1[:, n_pos == 0] = np.nan
    shape = (*lead, c)
    return ClassMetrics(auc.reshape(shape), ap.reshape(shape), f1.reshape(shape))


def _f1(chunk: np.ndarray, y_t: np.ndarray, threshold: float) -> np.ndarray:
    pred = chunk > threshold  # [k, C, N]
    tp = np.count_nonzero(pred & y_t.astype(bool)[None], axis=2)
    denom = np.count_nonzero(pred, axis=2) + y_t.sum(axis=1)[None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2.0 * tp / denom, 0.0)


def _sorted_rows(chunk: np.ndarray, y_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort every (set, class) row of a [k, C, N] block ascending by score.

    Returns (tie_key, is_pos), both [k*C, N]: ``tie_key`` compares equal exactly where scores tie,
    and within a tie group negatives come before positives (the label is the last sort key).
    """
    k, c, n = chunk.shape
    if chunk.dtype == np.float32 and (chunk >= 0).all():
        # Non-negative float32: the bits are order-preserving and the sign bit is free.
        keys = (chunk.view(np.uint32) << np.uint32(1)) | y_t.astype(np.uint32)[None]
    elif chunk.dtype == np.float32:
        # Negative scores: order-preserving unsigned image of the float bits, widened.
        bits = (chunk + np.float32(0.0)).view(np.uint32)  # -0.0 -> +0.0: the zeros must tie
        sortable = np.where(bits >> np.uint32(31), ~bits, bits | np.uint32(1 << 31))
        keys = (sortable.astype(np.uint64) << np.uint64(1)) | y_t.astype(np.uint64)[None]
    elif (chunk >= 0).all():
        keys = (chunk.view(np.uint64) << np.uint64(1)) | y_t.astype(np.uint64)[None]
    else:  # float64 with negative scores: no spare bit, sort by (score, label) explicitly
        score = chunk.reshape(k * c, n) + 0.0
        y_rows = np.broadcast_to(y_t[None], (k, c, n)).reshape(k * c, n)
        order = np.lexsort((y_rows, score), axis=-1)
        return np.take_along_axis(score, order, 1), np.take_along_axis(y_rows, order, 1)
    keys = keys.reshape(k * c, n)
    keys.sort(axis=1)
    return keys >> 1, keys & 1


def _rank_metrics(chunk: np.ndarray, y_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and AP for a [k, C, N] block of scores against labels [C, N].

    Ascending order, positives only: the j-th positive (1-based) at position q has q - j + 1
    negatives below it and, at its threshold, precision (P - j + 1) / (N - q). That is exact when
    it ties with nothing; tie groups are then corrected: negatives sort first inside a group, so a
    positive over-counts the group's negatives by one half each (AUROC), and every positive of the
    group must use the group's threshold (AP).
    """
    k, c, n = chunk.shape
    rows = k * c
    tie_key, is_pos = _sorted_rows(chunk, y_t)
    npos = np.tile(y_t.sum(axis=1, dtype=np.int64), k)  # [rows]
    fl = np.flatnonzero(is_pos)
    row = np.repeat(np.arange(rows), npos)
    start = np.zeros(rows, dtype=np.int64)
    np.cumsum(npos[:-1], out=start[1:])
    j = np.arange(fl.size) - start[row] + 1
    q = fl - row * n
    auc_num = np.bincount(row, weights=q - j + 1, minlength=rows)
    ap_terms = (npos[row] - j + 1) / (n - q)
    ap_sum = np.bincount(row, weights=ap_terms, minlength=rows)

    eq = np.zeros((rows, n), dtype=bool)  # eq[r, i]: element i ties with element i + 1
    np.equal(tie_key[:, 1:], tie_key[:, :-1], out=eq[:, :-1])
    if eq.any():
        tied = eq.copy()
        tied[:, 1:] |= eq[:, :-1]
        t = np.flatnonzero(tied)
        new = np.ones(t.size, dtype=bool)
        new[1:] = ~eq.ravel()[t[:-1]]
        gid = np.cumsum(new) - 1
        g_start = t[new]
        g_row = g_start // n
        t_pos = is_pos.ravel()[t].astype(bool)
        pos_g = np.bincount(gid, weights=t_pos)
        neg_g = np.bincount(gid) - pos_g
        auc_num -= np.bincount(g_row, weights=0.5 * pos_g * neg_g, minlength=rows)
        if t_pos.any():
            idx = np.searchsorted(fl, t[t_pos])  # tied positives' index among all positives
            gid_pos = gid[t_pos]
            first = np.ones(idx.size, dtype=bool)
            first[1:] = gid_pos[1:] != gid_pos[:-1]
            g = gid_pos[first]  # groups holding a positive, and their first (lowest) positive
            naive = np.bincount(gid_pos, weights=ap_terms[idx])[g]
            tp_at_group = npos[g_row[g]] - j[idx[first]] + 1
            exact = pos_g[g] * tp_at_group / (n - (g_start[g] - g_row[g] * n))
            ap_sum += np.bincount(g_row[g], weights=exact - naive, minlength=rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = auc_num / (npos * (n - npos))
        ap = ap_sum / npos
    return auc.reshape(k, c), ap.reshape(k, c)


def metrics_table(
    probs: np.ndarray,
    labels: np.ndarray,
    *,
    seeds: list[int],
    sparsities: np.ndarray,
    class_names: list[str],
    threshold: float = 0.5,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Tidy per-class table with columns seed, sparsity, class, auc, ap, f1 (one row per triple).

    ``probs`` is [seeds, S, N, C]; rows are ordered by seed, then sparsity, then class.
    """
    p = np.asarray(probs)
    if p.ndim != 4 or p.shape[:2] != (len(seeds), len(sparsities)) or p.shape[3] != len(class_names):
        raise MetricsInputError(
            f"probs shape {p.shape} does not match [seeds={len(seeds)}, "
            f"sparsities={len(sparsities)}, N, classes={len(class_names)}]"
        )
    m = class_metrics(p, labels, threshold=threshold, progress=progress)
    return metrics_frame(m, seeds=seeds, sparsities=sparsities, class_names=class_names)


def metrics_frame(m: ClassMetrics, *, seeds: list[int], sparsities: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """The tidy table of :func:`metrics_table` from metrics already computed ([seeds, S, C] each)."""
    s, k, c = m.auc.shape
    return pd.DataFrame(
        {
            "seed": np.repeat(np.asarray(seeds), k * c),
            "sparsity": np.tile(np.repeat(np.asarray(sparsities, dtype=float), c), s),
            "class": np.tile(np.asarray(class_names, dtype=object), s * k),
            "auc": m.auc.ravel(),
            "ap": m.ap.ravel(),
            "f1": m.f1.ravel(),
        }
    )


def overall_table(class_table: pd.DataFrame) -> pd.DataFrame:
    """mAUC, mAP and mF1 per seed and sparsity: class means that skip NaN (no-positive) classes."""
    g = class_table.groupby(["seed", "sparsity"], sort=True)[["auc", "ap", "f1"]].mean()
    return g.rename(columns={"auc": "mauc", "ap": "map", "f1": "mf1"}).reset_index()
