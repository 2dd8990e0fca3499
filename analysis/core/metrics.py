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
``argsort`` + gather; float32 scores stay float32 (uint32 keys, built in place). After the sort
only the positives (a few percent of the images in a long-tailed set) are visited: their
positions give AUROC and AP, a positive that ties with the element before it marks a tie group
(found by one search in its row), and F1 is a count of keys above the threshold's key. Every
quantity is an integer count until the final division, so the results equal scikit-learn's to
float rounding (< 1e-12).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from common.errors import AppError
from common.progress import Progress

# Elements (columns x images) per chunk: bounds peak memory at a few hundred MB.
_CHUNK_ELEMENTS = 1 << 20
_LITTLE = sys.byteorder == "little"


class MetricsInputError(AppError):
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
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8)
    # Unsigned integers (the usual uint8) need one comparison; isin is several times slower.
    bad = arr > 1 if np.issubdtype(arr.dtype, np.unsignedinteger) else ~np.isin(arr, (0, 1))
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
        block = flat[start:stop]  # [k, N, C], the caller's: only read
        nonneg = bool((block >= 0).all())  # False for a negative score, and for NaN
        if not nonneg and np.isnan(block).any():
            k, j, i = map(int, np.argwhere(np.isnan(block.transpose(0, 2, 1)))[0])
            idx = [int(v) for v in np.unravel_index(start + k, lead)] if lead else []
            raise MetricsInputError(f"probs{idx + [i, j]} is NaN")
        a, b, f = _chunk_metrics(block.transpose(0, 2, 1), y_t, n_pos, threshold, nonneg)
        auc[start:stop], ap[start:stop], f1[start:stop] = a, b, f
        if progress is not None:
            progress(stop, n_sets, "class metrics")
    auc[:, n_pos == 0] = np.nan
    auc[:, n_pos == n] = np.nan
    ap[:, n_pos == 0] = np.nan
    f1[:, n_pos == 0] = np.nan
    shape = (*lead, c)
    return ClassMetrics(auc.reshape(shape), ap.reshape(shape), f1.reshape(shape))


def _chunk_metrics(
    chunk: np.ndarray, y_t: np.ndarray, n_pos: np.ndarray, threshold: float, nonneg: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUROC, AP and F1, each [k, C], of a [k, C, N] view of scores (``nonneg``: none below 0)."""
    k, c, _ = chunk.shape
    # F1 is read off the sorted keys when the threshold maps to a key: non-negative scores and a
    # plain Python number, which numpy compares in the scores' dtype (a numpy float64 would be
    # compared in float64: then, and for negative scores, F1 is counted from the scores first).
    by_key = nonneg and type(threshold) in (float, int) and math.isfinite(threshold) and threshold >= 0
    f1 = None if by_key else _f1(chunk, y_t, threshold)
    keys = _sorted_keys(chunk, y_t, nonneg)
    thr_key = None
    if by_key:
        one = keys.dtype.type(1)
        thr_key = (np.asarray(threshold, dtype=chunk.dtype).view(keys.dtype) << one) | one
    auc, ap, f1_keys = _rank_metrics(keys, np.tile(n_pos, k), thr_key)
    return auc.reshape(k, c), ap.reshape(k, c), f1_keys.reshape(k, c) if by_key else f1


def _f1(chunk: np.ndarray, y_t: np.ndarray, threshold: float) -> np.ndarray:
    pred = chunk > threshold  # [k, C, N]
    tp = np.count_nonzero(pred & y_t.astype(bool)[None], axis=2)
    denom = np.count_nonzero(pred, axis=2) + y_t.sum(axis=1)[None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2.0 * tp / denom, 0.0)


def _sorted_keys(chunk: np.ndarray, y_t: np.ndarray, nonneg: bool) -> np.ndarray:
    """Sorted integer keys [k*C, N] of a [k, C, N] view of scores (not written to): ``key >> 1``
    orders and ties exactly as the scores, ``key & 1`` is the label, so negatives come first
    within a tie group.

    Non-negative scores: the float bits are order-preserving and the sign bit is free, so the keys
    are the bits shifted left by one, OR the label (float32 -> uint32, which numpy sorts with SIMD;
    float64 -> uint64), built in place in a row-major copy (a transposing copy, then in-place
    passes, is faster than a shift reading the strided view)."""
    k, c, n = chunk.shape
    if nonneg:
        keys = np.array(chunk, order="C").view(np.uint32 if chunk.dtype == np.float32 else np.uint64)
        keys <<= keys.dtype.type(1)  # -0.0 loses its sign bit here: it ties with +0.0
        np.bitwise_or(keys, y_t, out=keys)
    elif chunk.dtype == np.float32:
        # Negative scores: order-preserving unsigned image of the float bits, widened.
        bits = (chunk + np.float32(0.0)).view(np.uint32)  # -0.0 -> +0.0: the zeros must tie
        sortable = np.where(bits >> np.uint32(31), ~bits, bits | np.uint32(1 << 31))
        keys = (sortable.astype(np.uint64) << np.uint64(1)) | y_t.astype(np.uint64)[None]
    else:  # float64 with negative scores: no spare bit; sort by (score, label), key = dense rank
        score = chunk.reshape(k * c, n) + 0.0
        y_rows = np.broadcast_to(y_t[None], (k, c, n)).reshape(k * c, n)
        order = np.lexsort((y_rows, score), axis=-1)
        s = np.take_along_axis(score, order, 1)
        new = np.ones(s.shape, dtype=np.uint64)
        new[:, 1:] = s[:, 1:] != s[:, :-1]
        return (np.cumsum(new, axis=1, dtype=np.uint64) << np.uint64(1)) | np.take_along_axis(y_rows, order, 1)
    keys = keys.reshape(k * c, n)
    keys.sort(axis=1)
    return keys


def _rank_metrics(keys: np.ndarray, npos: np.ndarray, thr_key=None):
    """AUROC, AP (and F1 when ``thr_key`` is given) per row of sorted keys (see _sorted_keys).

    Ascending order, positives only: the j-th positive (0-based) of a row at position q has
    q - j negatives below it and, at its threshold, precision (P - j) / (N - q). That is exact
    when it ties with nothing. Tie groups are found from the positives alone (a positive ties
    with the element before it) and corrected: the g negatives tied with a run of m positives
    were counted whole by each, and count one half (AUROC), and every positive of the run uses
    the group's threshold (AP).
    """
    rows, n = keys.shape
    flat = keys.reshape(-1)
    one = keys.dtype.type(1)
    lsb = (
        keys.view(np.uint8)[:, :: keys.itemsize]
        if _LITTLE
        else keys.view(np.uint8)[:, keys.itemsize - 1 :: keys.itemsize]
    )
    fl = np.flatnonzero(np.bitwise_and(lsb, 1).view(bool))  # positives, row by row, ascending
    n_all = fl.size
    seg = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(npos, out=seg[1:])
    row_of = np.repeat(np.arange(rows), npos)
    q = fl - row_of * n
    csq = np.zeros(n_all + 1, dtype=np.int64)
    np.cumsum(q, out=csq[1:])
    auc2 = 2 * (csq[seg[1:]] - csq[seg[:-1]] - npos * (npos - 1) // 2)  # doubled, exact integers
    tp = np.repeat(seg[1:], npos) - np.arange(n_all)  # positives at or above each positive
    ap_terms = tp / (n - q)
    pk = flat[fl]
    prev = flat[fl - 1]  # q == 0 wraps to another row: masked below
    has_prev = q > 0
    cont = (prev == pk) & has_prev  # the positive before it has the same score
    neg_tie = (prev == pk - one) & has_prev  # a negative before it has the same score
    if cont.any() or neg_tie.any():
        starts = np.flatnonzero(~cont)  # runs of tied positives (negatives of a group come first)
        lens = np.diff(starts, append=n_all)
        need = (lens > 1) | neg_tie[starts]
        rs, rl = starts[need], lens[need]
        ng = np.zeros(rs.size, dtype=np.int64)
        nt = np.flatnonzero(neg_tie[rs])
        if nt.size:
            first = rs[nt]
            r = row_of[first]
            lower = np.empty(first.size, dtype=np.int64)  # the group's start: a search in its row
            cut = np.flatnonzero(r[1:] != r[:-1]) + 1
            for a, b in zip(np.r_[0, cut], np.r_[cut, first.size], strict=True):
                lower[a:b] = keys[r[a]].searchsorted(pk[first[a:b]] - one, "left")
            ng[nt] = q[first] - lower
        auc2 -= np.bincount(row_of[rs], weights=ng * rl, minlength=rows).astype(np.int64)
        exact = tp[rs] / (n - (q[rs] - ng))
        offsets = np.zeros(rs.size, dtype=np.int64)
        np.cumsum(rl[:-1], out=offsets[1:])
        members = np.repeat(rs - offsets, rl) + np.arange(int(rl.sum()))
        ap_terms[members] = np.repeat(exact, rl)
    ap_sum = np.bincount(row_of, weights=ap_terms, minlength=rows)
    f1 = None
    if thr_key is not None:  # the rows are sorted: one search each counts the keys above the threshold
        pred = n - np.array([row.searchsorted(thr_key, "right") for row in keys], dtype=np.int64)
        tp1 = np.bincount(row_of, weights=pk > thr_key, minlength=rows)
        denom = pred + npos
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(denom > 0, 2.0 * tp1 / denom, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = auc2 / (2 * npos * (n - npos))
        ap = ap_sum / npos
    return auc, ap, f1


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
