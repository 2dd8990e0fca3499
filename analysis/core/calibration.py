"""Calibration and selective prediction against the level axis (sparsity, bits, ...).

Computed on the seed-averaged scores at each level (the ensemble the PIE selection uses; a single
model is usually less calibrated than the average of several, so these are lower bounds for one
deployed model). Every (image, class) pair is one binary prediction.

* **ECE**, equal-mass bins: the scores are sorted (stable) and cut into ``n_bins`` runs of equal
  size (sizes differ by at most one; tied scores at a cut may fall in neighbouring bins);
  ``ECE = sum_b (n_b / n) |mean score_b - positive rate_b|``. Per class over that class's N
  scores; "overall" pools all N x C scores.
* **Brier score**: mean (score - label)^2, per class and pooled.
* **Reliability diagram**: each pooled bin's mean score against its positive rate.
* **Risk-coverage** (Geifman & El-Yaniv 2017): decide positive iff score > 0.5 (the F1 threshold),
  rank decisions by confidence |score - 0.5|, most confident first (ties: stable, by position);
  risk at coverage k/n = errors among the k most confident / k. **AURC** = mean risk over k = 1..n.
  "Risk at 80%" answers: if the model abstained on its 20% least certain decisions, how often
  would it still be wrong?

Speed (the report computes these at every level): :func:`compute_calibration` sorts packed integer
keys instead of argsorting floats (as ``analysis.core.metrics`` does): a float32 score's bits shifted
left by one, OR the label (or OR "wrong" for the risk order), sort as the score does, so one
``np.sort`` per class row gives both the order and the labels. Consequences, stated: scores are
rounded to float32 first; among tied scores negatives come first in a bin; among decisions tied in
confidence the wrong ones come first (a pessimistic curve). The helpers above (``ece_equal_mass``,
``reliability``, ``risk_coverage``) are the plain definitions; a test checks that both agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

N_BINS = 15
COVERAGE_POINTS = np.linspace(0.01, 1.0, 100)
BINNING = f"{N_BINS} equal-mass bins (scores sorted, cut into runs of equal size); ECE weights each bin by its size"


def ece_equal_mass(scores: np.ndarray, labels: np.ndarray, n_bins: int = N_BINS) -> float:
    """Expected calibration error with equal-mass bins over 1-D ``scores`` and 0/1 ``labels``."""
    order = np.argsort(scores, kind="stable")
    s, y = np.asarray(scores, float)[order], np.asarray(labels, float)[order]
    n = len(s)
    if n == 0:
        return float("nan")
    edges = np.linspace(0, n, min(n_bins, n) + 1).round().astype(int)
    cs, cy = np.concatenate([[0.0], np.cumsum(s)]), np.concatenate([[0.0], np.cumsum(y)])
    size = np.diff(edges)
    gap = np.abs(np.diff(cs[edges]) - np.diff(cy[edges]))  # |sum score - sum label| per bin
    return float(gap[size > 0].sum() / n)


def reliability(scores: np.ndarray, labels: np.ndarray, n_bins: int = N_BINS) -> pd.DataFrame:
    """bin, n, mean_score, positive_rate of the equal-mass bins."""
    order = np.argsort(scores, kind="stable")
    s, y = np.asarray(scores, float)[order], np.asarray(labels, float)[order]
    edges = np.linspace(0, len(s), min(n_bins, max(len(s), 1)) + 1).round().astype(int)
    rows = [
        {"bin": b, "n": hi - lo, "mean_score": s[lo:hi].mean(), "positive_rate": y[lo:hi].mean()}
        for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True))
        if hi > lo
    ]
    return pd.DataFrame(rows)


def risk_coverage(scores: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Risk at each coverage k/n (k = 1..n), decisions ranked by |score - threshold| descending."""
    s = np.asarray(scores, float)
    order = np.argsort(-np.abs(s - threshold), kind="stable")
    wrong = ((s[order] > threshold) != (np.asarray(labels)[order] > 0)).astype(float)
    return np.cumsum(wrong) / np.arange(1, len(s) + 1)


def _at(risk: np.ndarray, coverage: float) -> float:
    k = max(1, int(np.floor(coverage * len(risk) + 1e-9)))  # keep the most confident floor(c n)
    return float(risk[k - 1])


@dataclass
class CalibrationResult:
    per_class: pd.DataFrame  # level, class, ece, brier, aurc, risk_full, risk_80
    overall: pd.DataFrame  # level, ece, ece_class_mean, brier, aurc, risk_full, risk_80
    reliability: pd.DataFrame  # level, bin, n, mean_score, positive_rate (pooled)
    curves: pd.DataFrame  # level, coverage, risk (pooled, 100 points)


def _sorted_keys(values: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """Rows of uint32 keys (float32 bits << 1 | flag), each row sorted ascending. ``values`` >= 0."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    return np.sort((bits << np.uint32(1)) | flag.astype(np.uint32), axis=-1)


def _unpack(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (keys >> np.uint32(1)).view(np.float32).astype(np.float64), (keys & np.uint32(1)).astype(np.float64)


def _bins(keys: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal-mass bins along the last axis of sorted keys: (size, score sum, label sum) per bin."""
    s, y = _unpack(keys)
    n = keys.shape[-1]
    edges = np.linspace(0, n, min(n_bins, n) + 1).round().astype(int)
    zero = np.zeros((*keys.shape[:-1], 1))
    cs, cy = np.concatenate([zero, np.cumsum(s, -1)], -1), np.concatenate([zero, np.cumsum(y, -1)], -1)
    return np.diff(edges), np.diff(cs[..., edges], axis=-1), np.diff(cy[..., edges], axis=-1)


def _risk(p32: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Risk at coverage k/n along the last axis (most confident first; ties: wrong first)."""
    wrong = (p32 > 0.5) != (y > 0)
    keys = _sorted_keys(np.abs(p32 - np.float32(0.5)), wrong)[..., ::-1]
    n = keys.shape[-1]
    return np.cumsum(keys & np.uint32(1), axis=-1) / np.arange(1, n + 1)


def _cov_index(n: int, coverage: np.ndarray) -> np.ndarray:
    return np.maximum(1, np.floor(coverage * n + 1e-9).astype(int)) - 1


def compute_calibration(
    mean_probs: np.ndarray, labels: np.ndarray, levels: np.ndarray, class_names: list[str], n_bins: int = N_BINS
) -> CalibrationResult:
    """All calibration tables for ``mean_probs`` [S, N, C] (levels ascending) and ``labels`` [N, C]."""
    per_class, overall, rel, curves = [], [], [], []
    y_t = np.ascontiguousarray(np.asarray(labels).T)  # [C, N]
    n = y_t.shape[1]
    i80, icov = _cov_index(n, np.array([0.8]))[0], _cov_index(n * len(class_names), COVERAGE_POINTS)
    for j, lev in enumerate(np.asarray(levels, float)):
        p_t = np.ascontiguousarray(np.asarray(mean_probs[j]).T)  # [C, N]
        p32 = p_t.astype(np.float32)
        size, ssum, ysum = _bins(_sorted_keys(p32, y_t), n_bins)
        ece = np.abs(ssum - ysum).sum(axis=-1) / n
        brier = ((p_t - y_t) ** 2).mean(axis=1)
        risk = _risk(p32, y_t)  # [C, N]
        per_class.append(
            pd.DataFrame(
                {
                    "level": lev,
                    "class": list(class_names),
                    "ece": ece,
                    "brier": brier,
                    "aurc": risk.mean(axis=1),
                    "risk_full": risk[:, -1],
                    "risk_80": risk[:, i80],
                }
            )
        )
        size, ssum, ysum = _bins(_sorted_keys(p32.ravel(), y_t.ravel()), n_bins)
        pooled = _risk(p32.ravel(), y_t.ravel())
        overall.append(
            {
                "level": lev,
                "ece": float(np.abs(ssum - ysum).sum() / p32.size),
                "brier": float(brier.mean()),
                "aurc": float(pooled.mean()),
                "risk_full": float(pooled[-1]),
                "risk_80": float(pooled[_cov_index(p32.size, np.array([0.8]))[0]]),
            }
        )
        keep = size > 0
        rel.append(
            pd.DataFrame(
                {
                    "level": lev,
                    "bin": np.arange(keep.sum()),
                    "n": size[keep],
                    "mean_score": ssum[keep] / size[keep],
                    "positive_rate": ysum[keep] / size[keep],
                }
            )
        )
        curves.append(pd.DataFrame({"level": lev, "coverage": COVERAGE_POINTS, "risk": pooled[icov]}))
    pc = pd.concat(per_class, ignore_index=True)
    ov = pd.DataFrame(overall)
    ov.insert(2, "ece_class_mean", pc.groupby("level", sort=False)["ece"].mean().to_numpy())
    return CalibrationResult(pc, ov, pd.concat(rel, ignore_index=True), pd.concat(curves, ignore_index=True))
