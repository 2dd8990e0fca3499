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


def compute_calibration(
    mean_probs: np.ndarray, labels: np.ndarray, levels: np.ndarray, class_names: list[str], n_bins: int = N_BINS
) -> CalibrationResult:
    """All calibration tables for ``mean_probs`` [S, N, C] (levels ascending) and ``labels`` [N, C]."""
    per_class, overall, rel, curves = [], [], [], []
    y = np.asarray(labels)
    for j, lev in enumerate(np.asarray(levels, float)):
        p = np.asarray(mean_probs[j], float)
        for c, name in enumerate(class_names):
            risk = risk_coverage(p[:, c], y[:, c])
            per_class.append(
                {
                    "level": lev,
                    "class": name,
                    "ece": ece_equal_mass(p[:, c], y[:, c], n_bins),
                    "brier": float(np.mean((p[:, c] - y[:, c]) ** 2)),
                    "aurc": float(risk.mean()),
                    "risk_full": float(risk[-1]),
                    "risk_80": _at(risk, 0.8),
                }
            )
        flat_p, flat_y = p.ravel(), y.ravel()
        risk = risk_coverage(flat_p, flat_y)
        overall.append(
            {
                "level": lev,
                "ece": ece_equal_mass(flat_p, flat_y, n_bins),
                "brier": float(np.mean((flat_p - flat_y) ** 2)),
                "aurc": float(risk.mean()),
                "risk_full": float(risk[-1]),
                "risk_80": _at(risk, 0.8),
            }
        )
        rel.append(reliability(flat_p, flat_y, n_bins).assign(level=lev))
        points = [_at(risk, c) for c in COVERAGE_POINTS]
        curves.append(pd.DataFrame({"level": lev, "coverage": COVERAGE_POINTS, "risk": points}))
    pc = pd.DataFrame(per_class)
    ov = pd.DataFrame(overall)
    ov.insert(2, "ece_class_mean", pc.groupby("level", sort=False)["ece"].mean().to_numpy())
    rel_df = pd.concat(rel, ignore_index=True)[["level", "bin", "n", "mean_score", "positive_rate"]]
    return CalibrationResult(pc, ov, rel_df, pd.concat(curves, ignore_index=True))
