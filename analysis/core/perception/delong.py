"""Empirical AUCs of many readings at once, and their covariance by DeLong's method or the case jackknife.

A *reading* k is one (modality, reader) pair; ``scores`` is a readings x cases matrix with NaN where a
reading did not see a case, and ``truth`` says which cases are positive. The empirical AUC of reading k
is the Mann-Whitney statistic over the positive and negative cases it saw,

    A_k = 1/(m_k n_k) sum_{i pos} sum_{j neg} psi(x_ki, y_kj),   psi = 1 if x > y, 1/2 if x = y, 0 else.

DeLong, DeLong and Clarke-Pearson (1988) write A_k through its structural components
V10_k(i) = mean_j psi(x_ki, y_kj) (one per positive case) and V01_k(j) = mean_i psi(x_ki, y_kj), and estimate

    Cov(A_k, A_l) = S10_kl / m + S01_kl / n,   S10_kl = sum_i (V10_k(i) - A_k)(V10_l(i) - A_l) / (m - 1)

when both readings saw the same m positive and n negative cases (the fully crossed design). Where two
readings share only some cases (readers in different forms that share anchor cases; a split-plot), the sums
run over the shared cases only, and each scales by its own case counts:

    Cov(A_k, A_l) = [m_kl / (m_kl - 1)] sum_{shared pos i} (...)(...) / (m_k m_l) + the same for negatives,

which is DeLong's estimator when everything is shared and 0 when nothing is (independent cases).

The jackknife leaves out one case at a time (``leave_one_out``) and estimates, as Hillis et al. and
MRMCaov do for the crossed design, Cov = (K - 1)/K sum_c (A_k(c) - mean_k)(A_l(c) - mean_l). For readings
with different case sets we sum over the shared cases and use sqrt((K_k - 1)/K_k (K_l - 1)/K_l), so each
AUC's variance is the usual jackknife over its own K_k cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Components:
    auc: np.ndarray  # (K,) empirical AUC per reading
    v10: np.ndarray  # (K, cases): V10 on positive cases the reading saw, NaN elsewhere
    v01: np.ndarray  # (K, cases): V01 on negative cases the reading saw, NaN elsewhere
    n_pos: np.ndarray  # (K,) positives seen
    n_neg: np.ndarray  # (K,) negatives seen


def _psi(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    return (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])


def components(scores: np.ndarray, truth: np.ndarray) -> Components:
    """AUC and DeLong structural components of every reading (row of ``scores``)."""
    scores = np.asarray(scores, float)
    truth = np.asarray(truth, bool)
    k, c = scores.shape
    auc = np.full(k, np.nan)
    v10, v01 = np.full((k, c), np.nan), np.full((k, c), np.nan)
    n_pos, n_neg = np.zeros(k, int), np.zeros(k, int)
    for r in range(k):
        seen = ~np.isnan(scores[r])
        pos, neg = np.flatnonzero(seen & truth), np.flatnonzero(seen & ~truth)
        n_pos[r], n_neg[r] = len(pos), len(neg)
        if not len(pos) or not len(neg):
            continue
        psi = _psi(scores[r, pos], scores[r, neg])
        v10[r, pos], v01[r, neg] = psi.mean(1), psi.mean(0)
        auc[r] = psi.mean()
    return Components(auc, v10, v01, n_pos, n_neg)


def _shared_cov(dev: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """sum over shared cases of dev_k * dev_l, scaled by m_kl / (m_kl - 1) / (m_k m_l)."""
    seen = ~np.isnan(dev)
    d = np.where(seen, dev, 0.0)
    s = seen.astype(float)
    cross = d @ d.T
    shared = s @ s.T
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(shared > 1, shared / (shared - 1), 0.0) / np.outer(counts, counts)
    return np.nan_to_num(cross * factor)


def delong_cov(comp: Components) -> np.ndarray:
    """K x K covariance matrix of the readings' AUCs (DeLong; partial pairing as in the module docstring)."""
    return _shared_cov(comp.v10 - comp.auc[:, None], comp.n_pos) + _shared_cov(comp.v01 - comp.auc[:, None], comp.n_neg)


def leave_one_out(comp: Components) -> np.ndarray:
    """K x cases: the reading's AUC without that case (NaN where the reading did not see it).

    From the components, without recomputing: dropping positive i removes n_k V10_k(i) from the sum of psi."""
    m, n = comp.n_pos[:, None].astype(float), comp.n_neg[:, None].astype(float)
    total = comp.auc[:, None] * m * n
    with np.errstate(divide="ignore", invalid="ignore"):
        drop_pos = (total - n * comp.v10) / ((m - 1) * n)
        drop_neg = (total - m * comp.v01) / (m * (n - 1))
    return np.where(np.isnan(comp.v10), drop_neg, drop_pos)


def jackknife_cov(comp: Components) -> np.ndarray:
    """K x K jackknife covariance of the readings' AUCs over the cases (module docstring)."""
    loo = leave_one_out(comp)
    seen = ~np.isnan(loo)
    counts = seen.sum(1).astype(float)
    means = np.nansum(loo, 1) / counts
    d = np.where(seen, loo - means[:, None], 0.0)
    scale = np.sqrt((counts - 1) / counts)
    return (d @ d.T) * np.outer(scale, scale)
