"""Cluster-robust Wald inference for the proportional-odds (or, with two levels, logistic) model.

Model: P(Y <= k | x) = logistic(theta_k - x'beta), x = [PIE, reader dummies], fitted by maximum likelihood
(``ordinal.fit_weighted``, the same likelihood and parametrisation as statsmodels ``OrderedModel``).

Answers are not independent: a case read by several readers gives correlated answers, and readers differ
in how much PIEs move them (a reader-varying PIE effect, which reader fixed effects do not absorb). The
variance of the PIE coefficient is therefore a sandwich H^-1 M H^-1 with per-answer scores summed within
clusters (Cameron, Gelbach & Miller 2011, two-way clustering):

    M_case     scores summed per case                          (case-clustered, "case")
    M_twoway = M_case + M_reader - M_answer                    (reader and case, "twoway")

each with the small-sample factor G / (G - 1). The reader part is estimated from only R reader sums, so
the two-way interval uses Student's t with R - 1 degrees of freedom (the units a reader-varying PIE effect
is averaged over). The calibration (bench/perception_calibration.py, README) showed the case-clustered
interval under-covers when readers differ; the two-way one with t(R - 1) holds 95%. A Hillis-type df
(larger than R - 1 when the case part dominates) rejected a true null 6-7% of the time in crossed designs
with readers alike, and a Satterthwaite df under-covered at 3 readers with reader SD 1 (82-90%).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import expit

from analysis.core.perception.ordinal import MAX_ABS_COEF, fit_weighted, negloglik, thresholds

SEPARATION_LOG_OR = 10.0  # |log OR| beyond this (OR > 22,000) is the optimiser running to infinity


@dataclass(frozen=True)
class OrdinalFit:
    params: np.ndarray  # [beta (PIE, reader dummies), threshold parameters]
    hessian: np.ndarray  # of the negative log-likelihood at params
    scores: np.ndarray  # n x P, per-answer gradient of the log-likelihood
    converged: bool


def _parts(params, codes, x, n_levels):
    k = x.shape[1]
    beta, a = params[:k], params[k:]
    cuts = np.concatenate([[-np.inf], thresholds(a), [np.inf]])
    eta = x @ beta
    hi, lo = cuts[codes + 1] - eta, cuts[codes] - eta
    f_hi, f_lo = expit(hi), expit(lo)
    p = np.clip(f_hi - f_lo, 1e-300, None)
    d_hi = np.where(np.isfinite(hi), f_hi * (1 - f_hi), 0.0)
    d_lo = np.where(np.isfinite(lo), f_lo * (1 - f_lo), 0.0)
    return a, p, d_hi, d_lo


def answer_scores(params: np.ndarray, codes: np.ndarray, x: np.ndarray, n_levels: int) -> np.ndarray:
    """Per-answer gradient of the log-likelihood (n x P); their column sums are minus ordinal.negloglik's."""
    a, p, d_hi, d_lo = _parts(params, codes, x, n_levels)
    s_eta = -(d_hi - d_lo) / p
    n = len(codes)
    s_cut = np.zeros((n, n_levels - 1))
    rows = np.arange(n)
    upper = codes < n_levels - 1  # the answer's upper cut is cut_{code}
    lower = codes > 0  # its lower cut is cut_{code - 1}
    s_cut[rows[upper], codes[upper]] += d_hi[upper] / p[upper]
    s_cut[rows[lower], codes[lower] - 1] -= d_lo[lower] / p[lower]
    # cut_j = a_0 + sum_{m=1..j} exp(a_m): d cut_j / d a_m = exp(a_m) for m <= j (1 for m = 0).
    tail = np.cumsum(s_cut[:, ::-1], axis=1)[:, ::-1]
    s_a = np.column_stack([tail[:, 0], tail[:, 1:] * np.exp(a[1:])[None, :]])
    return np.column_stack([s_eta[:, None] * x, s_a])


def _hessian(params, codes, x, n_levels, w) -> np.ndarray:
    """Central differences of the analytic gradient (P gradient pairs; P is small: PIE, readers, cuts)."""
    P = len(params)
    H = np.zeros((P, P))
    for j in range(P):
        h = 1e-5 * max(1.0, abs(params[j]))
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        H[:, j] = (negloglik(up, codes, x, w, n_levels)[1] - negloglik(down, codes, x, w, n_levels)[1]) / (2 * h)
    return (H + H.T) / 2


def fit_ordinal(codes: np.ndarray, x: np.ndarray, n_levels: int) -> OrdinalFit:
    """Maximum likelihood from the cumulative proportions (thresholds) and zero coefficients."""
    w = np.ones(len(codes))
    cum = np.cumsum(np.bincount(codes, minlength=n_levels))[:-1] / len(codes)
    cuts = np.log(cum / (1 - cum))
    start = np.concatenate([np.zeros(x.shape[1]), cuts[:1], np.log(np.maximum(np.diff(cuts), 1e-6))])
    params = fit_weighted(codes, x, w, n_levels, start, maxiter=500)
    grad = negloglik(params, codes, x, w, n_levels)[1]
    return OrdinalFit(
        params=params,
        hessian=_hessian(params, codes, x, n_levels, w),
        scores=answer_scores(params, codes, x, n_levels),
        converged=bool(np.max(np.abs(grad)) < 1e-3 * max(1.0, len(codes) ** 0.5)),
    )


def _meat(scores: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, int]:
    codes, g = np.unique(groups, return_inverse=True)
    sums = np.zeros((len(codes), scores.shape[1]))
    np.add.at(sums, g.ravel(), scores)
    G = len(codes)
    return sums.T @ sums * (G / (G - 1) if G > 1 else np.nan), G


def wald(fit: OrdinalFit, readers: np.ndarray, cases: np.ndarray, j: int = 0) -> dict:
    """Case-clustered and two-way clustered Wald statistics of coefficient j (the PIE coefficient)."""
    bread = np.linalg.inv(fit.hessian)
    b = float(fit.params[j])

    def var(meat: np.ndarray) -> float:
        return float((bread @ meat @ bread)[j, j])

    m_case, n_cases = _meat(fit.scores, cases)
    m_reader, n_readers = _meat(fit.scores, readers)
    m_answer, _ = _meat(fit.scores, np.arange(len(cases)))
    v_case = var(m_case)
    # Not floored at v_case: with R - 1 df the t interval expects a variance estimate that is sometimes
    # smaller than the truth, and a floor made it conservative (type-I error 0-1.3% instead of 5% when
    # readers agree, measured with bench/perception_calibration.py). When every case is read once (the
    # default forms design), m_case = m_answer and this is the reader-clustered variance. A non-positive
    # estimate (a negative reader part, crossed designs) falls back to the larger one-way variance.
    v_two = var(m_case + m_reader - m_answer) if n_readers > 1 else v_case
    if not v_two > 0:
        v_two = max(v_case, var(m_reader))
    # Readers are the units a reader-varying PIE effect is averaged over: Student t with R - 1 df.
    df = float(n_readers - 1) if n_readers > 1 else np.inf
    se_case, se_two = np.sqrt(v_case), np.sqrt(v_two)
    t = stats.t.ppf(0.975, df) if np.isfinite(df) else stats.norm.ppf(0.975)
    z = stats.norm.ppf(0.975)
    return {
        "log_or": b,
        "se_case": se_case,
        "p_case": float(2 * stats.norm.sf(abs(b / se_case))) if se_case > 0 else np.nan,
        "ci_low_case": float(np.exp(b - z * se_case)),
        "ci_high_case": float(np.exp(b + z * se_case)),
        "se": se_two,
        "df": df,
        "p": float(2 * stats.t.sf(abs(b / se_two), df)) if se_two > 0 else np.nan,
        "ci_low": float(np.exp(b - t * se_two)),
        "ci_high": float(np.exp(b + t * se_two)),
    }


def separated(fit: OrdinalFit, j: int = 0) -> bool:
    """The likelihood keeps rising as |beta_j| grows: no finite estimate exists (quasi-complete separation)."""
    b = abs(float(fit.params[j]))
    return b >= SEPARATION_LOG_OR or b >= MAX_ABS_COEF - 1e-6
