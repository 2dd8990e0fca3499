"""Predicting PIEs before pruning: does the dense model's own uncertainty flag the images at risk?

Per image, from the dense (uncompressed) models only, averaged over the C classes:

* **entropy**: binary entropy (nats) of the seed-averaged score;
* **low margin**: 1 - 2 |score - 0.5| of the seed-averaged score (1 = on the threshold);
* **disagreement**: standard deviation of the score across seeds (needs 2+ seeds).

Each is scored as a predictor of PIE status by AUROC (the exact metrics core; ties count one
half), with a DeLong 95% CI and a two-sided DeLong p against 0.5 (images as independent units).

**PIE-set stability over seeds**: the seeds are resampled with replacement ``n_boot`` times; each
replicate averages its seeds' dense and PIE-level scores, takes the per-image Spearman correlation
of the two class-score vectors, and selects as many PIEs as the report has (lowest correlation;
ties by image index; a constant row's undefined correlation counts as no change). Reported: the
Jaccard index of each replicate's set with the full set, and how often each image is selected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats as sps

from .metrics import class_metrics

MEASURES = ("entropy", "low_margin", "disagreement")


def uncertainty_scores(seed_dense: np.ndarray) -> pd.DataFrame:
    """Per-image measures from the dense scores of every seed [K, N, C]."""
    p = np.asarray(seed_dense)
    k = len(p)
    mean = p.mean(axis=0, dtype=np.float64)
    q = np.clip(mean, 1e-12, 1 - 1e-12)
    entropy = -(q * np.log(q) + (1 - q) * np.log(1 - q)).mean(axis=1)
    low_margin = (1 - 2 * np.abs(mean - 0.5)).mean(axis=1)
    if k > 1:  # sample SD across seeds from float64 sums (no float64 copy of every seed's scores)
        var = np.maximum((np.square(p).sum(axis=0, dtype=np.float64) - k * mean**2) / (k - 1), 0)
        disagreement = np.sqrt(var).mean(axis=1)
    else:
        disagreement = np.full(len(mean), np.nan)
    return pd.DataFrame({"entropy": entropy, "low_margin": low_margin, "disagreement": disagreement})


def delong(scores: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """(AUROC, CI low, CI high, p vs 0.5) by DeLong et al. (1988) with mid-ranks."""
    s, y = np.asarray(scores, float), np.asarray(y, bool)
    pos, neg = s[y], s[~y]
    m, n = len(pos), len(neg)
    if m < 2 or n < 2:
        return (math.nan,) * 4
    tz = sps.rankdata(s)
    auc = (tz[y].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (tz[y] - sps.rankdata(pos)) / n
    v01 = 1 - (tz[~y] - sps.rankdata(neg)) / m
    se = math.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n)
    if se == 0:
        return float(auc), float(auc), float(auc), math.nan
    z = (auc - 0.5) / se
    return float(auc), max(0.0, auc - 1.959964 * se), min(1.0, auc + 1.959964 * se), float(2 * sps.norm.sf(abs(z)))


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ra, rb = sps.rankdata(a, axis=1), sps.rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    den = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (ra * rb).sum(axis=1) / np.where(den > 0, den, 1), 1.0)


def select_bottom(corr: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the ``k`` lowest correlations, ties broken by image index."""
    mask = np.zeros(len(corr), bool)
    mask[np.lexsort((np.arange(len(corr)), corr))[:k]] = True
    return mask


@dataclass
class UncertaintyResult:
    auc: pd.DataFrame  # measure, auroc, ci_lo, ci_hi, p, n_pies, n_images
    images: pd.DataFrame  # per image: measures, is_pie, selection_freq
    stability: dict  # n_boot, n_seeds, jaccard_mean, jaccard_lo, jaccard_hi, share_pies_selected_half


def compute_uncertainty(
    seed_dense: np.ndarray,
    is_pie: np.ndarray,
    seed_pie_level: np.ndarray | None = None,
    *,
    n_boot: int = 20,
    seed: int = 0,
) -> UncertaintyResult:
    """``seed_dense`` and ``seed_pie_level`` [K, N, C]: every seed's scores at the dense and the PIE level."""
    is_pie = np.asarray(is_pie, bool)
    scores = uncertainty_scores(seed_dense)
    rows = []
    finite = [m for m in MEASURES if np.isfinite(scores[m]).all()]
    exact = class_metrics(scores[finite].to_numpy(), np.repeat(is_pie[:, None], len(finite), 1)).auc if finite else []
    for m in MEASURES:
        auc, lo, hi, p = delong(scores[m].to_numpy(), is_pie) if m in finite else (math.nan,) * 4
        if m in finite:
            auc = float(exact[finite.index(m)])  # the exact core's value (equal to DeLong's to rounding)
        rows.append({"measure": m, "auroc": auc, "ci_lo": lo, "ci_hi": hi, "p": p})
    auc_table = pd.DataFrame(rows).assign(n_pies=int(is_pie.sum()), n_images=len(is_pie))
    images = scores.assign(is_pie=is_pie)
    stability = {"n_boot": 0, "n_seeds": int(len(seed_dense))}
    k = int(is_pie.sum())
    if seed_pie_level is not None and len(seed_dense) > 1 and k > 0 and n_boot > 0:
        rng = np.random.default_rng([int(seed), 21])
        freq = np.zeros(len(is_pie))
        jac = []
        for _ in range(n_boot):
            pick = rng.integers(0, len(seed_dense), len(seed_dense))
            dense = seed_dense[pick].mean(axis=0, dtype=np.float64)
            sparse = seed_pie_level[pick].mean(axis=0, dtype=np.float64)
            sel = select_bottom(_spearman_rows(dense, sparse), k)
            freq += sel
            jac.append((sel & is_pie).sum() / (sel | is_pie).sum())
        freq /= n_boot
        images["selection_freq"] = freq
        lo, hi = np.percentile(jac, [2.5, 97.5])
        stability.update(
            n_boot=n_boot,
            jaccard_mean=float(np.mean(jac)),
            jaccard_lo=float(lo),
            jaccard_hi=float(hi),
            share_pies_selected_half=float((freq[is_pie] >= 0.5).mean()),
        )
    return UncertaintyResult(auc_table, images, stability)
