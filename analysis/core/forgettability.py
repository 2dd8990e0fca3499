"""Forgettability: how pruning changes each class's metric (the paper's Figs 2-4).

Definitions (each pinned by a known-answer test):

* Relative change, per seed: ``(m_k - m_0) / m_0`` with m_0 the dense (sparsity 0) metric of the
  same seed. Then the median over seeds (NaN-skipping). This order matters: it is NOT the
  relative change of the median metric. m_0 == 0 gives NaN (the paper adds 1e-12 to m_0, which
  turns 0/0 into 0 and x/0 into +-1e12; neither is meaningful).
* A class's forgettability curve is its median relative AP change over all sparsities
  (sparsity 0 included: its value is 0, so distances are unchanged).
* First 20% drop: the smallest sparsity > 0 whose median relative AP change is < -0.2
  (strict, as the paper). NaN when the curve never falls that far (the paper crashes).
* Change "at 95% sparsity": the curve at sparsity 0.95 when present, otherwise at the largest
  sparsity available; ``ChangeAt.sparsity`` says which one was used so figures can label it.
* FCD(a, b): Euclidean distance between the two classes' curves.
* Co-occurrence, two definitions (both from the TEST labels Y, like the paper's Fig 4):
  - "paper": with K = Y^T Y, the paper's code takes a class's *frequency* to be the column sum
    of K, sum_b K[b, a] (= positive labels summed over the images that contain a; NOT the class
    count), and IoU(a, b) = K[a, b] / (colsum_a + colsum_b - K[a, b]);
  - "standard": frequency = class count K[a, a] and IoU = |A and B| / |A or B|
    = K[a, b] / (K[a, a] + K[b, b] - K[a, b]). Reported as a sensitivity analysis.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from common.sparsity import sparsity_index

DROP_THRESHOLD = -0.2
TARGET_SPARSITY = 0.95


def relative_change(metric: np.ndarray, baseline_index: int = 0) -> np.ndarray:
    """Per-seed relative change of ``metric`` [seeds, S, C] against sparsity ``baseline_index``."""
    m = np.asarray(metric, dtype=float)
    if m.ndim != 3:
        raise ValueError(f"metric must be [seeds, S, C]; got shape {m.shape}")
    base = m[:, baseline_index : baseline_index + 1, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = (m - base) / base
    rel[np.broadcast_to(base == 0, rel.shape)] = np.nan
    return rel


def median_relative_change(metric: np.ndarray, baseline_index: int = 0) -> np.ndarray:
    """Median over seeds of the per-seed relative change: [seeds, S, C] -> [S, C]."""
    rel = relative_change(metric, baseline_index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices (no-positive class)
        return np.nanmedian(rel, axis=0)


def first_sparsity_below(curves: np.ndarray, sparsities: np.ndarray, threshold: float = DROP_THRESHOLD) -> np.ndarray:
    """Per class, the smallest sparsity > 0 where ``curves`` [S, C] < threshold; NaN if none."""
    s = np.asarray(sparsities, dtype=float)
    cur = np.asarray(curves, dtype=float)
    below = (cur < threshold) & (s > 0)[:, None]
    order = np.argsort(s, kind="stable")
    below, s = below[order], s[order]
    first = np.argmax(below, axis=0)
    return np.where(below.any(axis=0), s[first], np.nan)


@dataclass(frozen=True)
class ChangeAt:
    values: np.ndarray  # [C]
    sparsity: float  # the sparsity actually used
    is_target: bool  # False when the target was missing and the largest sparsity was used

    @property
    def label(self) -> str:
        pct = f"{100 * self.sparsity:g}% sparsity"
        return pct if self.is_target else f"{pct} (largest available; no 95%)"


def change_at(curves: np.ndarray, sparsities: np.ndarray, target: float = TARGET_SPARSITY) -> ChangeAt:
    """Curve values at ``target`` sparsity, or at the largest sparsity when it is absent."""
    s = np.asarray(sparsities, dtype=float)
    hit = sparsity_index(s, target)
    i = int(np.argmax(s)) if hit is None else hit
    return ChangeAt(np.asarray(curves, dtype=float)[i].copy(), float(s[i]), hit is not None)


def fcd_matrix(curves: np.ndarray) -> np.ndarray:
    """[C, C] Euclidean distances between the columns of ``curves`` [S, C] (NaN propagates)."""
    cur = np.asarray(curves, dtype=float)
    diff = cur[:, :, None] - cur[:, None, :]
    return np.sqrt((diff * diff).sum(axis=0))


@dataclass(frozen=True)
class Cooccurrence:
    """Frequency and IoU under the paper's and the standard definitions (see module doc)."""

    matrix: np.ndarray  # K = Y^T Y, [C, C] int
    freq_paper: np.ndarray  # column sums of K
    freq_standard: np.ndarray  # diagonal of K (class counts)
    iou_paper: np.ndarray  # [C, C]
    iou_standard: np.ndarray  # [C, C]


def cooccurrence(labels: np.ndarray) -> Cooccurrence:
    y = np.asarray(labels).astype(np.int64)
    k = y.T @ y
    col = k.sum(axis=0)
    diag = np.diag(k).copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        iou_p = k / (col[:, None] + col[None, :] - k)
        iou_s = k / (diag[:, None] + diag[None, :] - k)
    return Cooccurrence(k, col, diag, iou_p, iou_s)


def _log(v: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        out = np.log(np.asarray(v, dtype=float))
    out[~np.isfinite(out)] = np.nan  # zero counts: no log frequency
    return out


def fcd_pairs(curves: np.ndarray, labels_test: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """One row per unordered class pair (i < j, class order) with FCD and both co-occurrence views.

    Columns: class_a, class_b, fcd, log_freq_diff (paper: |diff of log column sums of Y^T Y|),
    iou_paper, iou_standard, log_freq_diff_standard (|diff of log class counts|).
    """
    co = cooccurrence(labels_test)
    fcd = fcd_matrix(curves)
    lp, ls = _log(co.freq_paper), _log(co.freq_standard)
    ii, jj = np.triu_indices(len(class_names), 1)  # (0,1), (0,2), ..., (1,2): combinations order
    names = np.asarray(class_names, dtype=object)
    return pd.DataFrame(
        {
            "class_a": names[ii],
            "class_b": names[jj],
            "fcd": fcd[ii, jj],
            "log_freq_diff": np.abs(lp[ii] - lp[jj]),
            "iou_paper": co.iou_paper[ii, jj],
            "iou_standard": co.iou_standard[ii, jj],
            "log_freq_diff_standard": np.abs(ls[ii] - ls[jj]),
        }
    )


@dataclass(frozen=True)
class ForgettabilityResult:
    sparsities: np.ndarray  # [S] ascending, starting at 0
    class_names: list[str]
    rel_ap: np.ndarray  # [S, C] median over seeds of per-seed relative change in AP
    rel_auc: np.ndarray  # [S, C]
    first_drop_20: np.ndarray  # [C], NaN = never
    delta_ap: ChangeAt

    def table(self) -> pd.DataFrame:
        """forgettability.csv: class, sparsity, median_rel_change_ap, median_rel_change_auc."""
        s, c = self.rel_ap.shape
        return pd.DataFrame(
            {
                "class": np.tile(np.asarray(self.class_names, dtype=object), s),
                "sparsity": np.repeat(self.sparsities, c),
                "median_rel_change_ap": self.rel_ap.ravel(),
                "median_rel_change_auc": self.rel_auc.ravel(),
            }
        )


def compute_forgettability(
    ap: np.ndarray, auc: np.ndarray, sparsities: np.ndarray, class_names: list[str]
) -> ForgettabilityResult:
    """Curves and per-class summaries from metric arrays [seeds, S, C] (sparsities ascending, s0=0)."""
    s = np.asarray(sparsities, dtype=float)
    if s.ndim != 1 or s.size == 0 or s[0] != 0 or np.any(np.diff(s) <= 0):
        raise ValueError(f"sparsities must be ascending and start at 0 (dense); got {s.tolist()}")
    rel_ap = median_relative_change(ap)
    rel_auc = median_relative_change(auc)
    return ForgettabilityResult(
        s, list(class_names), rel_ap, rel_auc, first_sparsity_below(rel_ap, s), change_at(rel_ap, s)
    )
