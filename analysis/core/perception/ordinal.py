"""The proportional-odds (ordinal logistic) likelihood for a 1-K question, with reader fixed effects.

Model: P(Y <= k | x) = logistic(theta_k - x'beta), x = [PIE, reader dummies (first reader as
reference)]. exp(beta_PIE) is the ordinal odds ratio: > 1 means PIEs get higher ratings, whichever
reader reads them. Same likelihood and parametrisation as statsmodels ``OrderedModel`` (thresholds
theta_1, then log increments), minimised by L-BFGS with the analytic gradient (``fit_weighted``; a test
checks it gives statsmodels' estimates). Weights make the same code serve the bootstrap refits
(``replicate_fit``). The published numbers are built from it in ``odds_ratio``; the cluster-robust Wald
inference is in ``clustered``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit


def design(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str], list[float]]:
    """Codes 0..L-1 of the observed levels, X = [PIE, reader dummies], readers, levels."""
    levels = sorted(rows["y"].unique())
    codes = np.searchsorted(levels, rows["y"].to_numpy())
    readers = sorted(rows["reader"].unique())
    dummies = (rows["reader"].to_numpy()[:, None] == np.array(readers[1:])[None, :]).astype(float)
    x = np.column_stack([rows["is_pie"].to_numpy(float), dummies])
    return codes, x, readers, levels


def thresholds(a: np.ndarray) -> np.ndarray:
    return np.cumsum(np.concatenate([a[:1], np.exp(a[1:])]))


def negloglik(params: np.ndarray, codes: np.ndarray, x: np.ndarray, w: np.ndarray, n_levels: int):
    """Weighted negative log-likelihood and its gradient (parameters as in OrderedModel: beta, a)."""
    k = x.shape[1]
    beta, a = params[:k], params[k:]
    cuts = np.concatenate([[-np.inf], thresholds(a), [np.inf]])
    eta = x @ beta
    hi, lo = cuts[codes + 1] - eta, cuts[codes] - eta
    f_hi, f_lo = expit(hi), expit(lo)
    p = np.clip(f_hi - f_lo, 1e-300, None)
    d_hi = np.where(np.isfinite(hi), f_hi * (1 - f_hi), 0.0)
    d_lo = np.where(np.isfinite(lo), f_lo * (1 - f_lo), 0.0)
    value = -(w * np.log(p)).sum()
    g_eta = w * (d_hi - d_lo) / p  # d(-loglik)/d eta
    g_beta = x.T @ g_eta
    # d(-loglik)/d cut_j for j = 1..L-1: -w d_hi/p where j is the upper cut, +w d_lo/p where lower.
    upper = np.bincount(codes, weights=w * d_hi / p, minlength=n_levels)[: n_levels - 1]
    lower = np.bincount(codes, weights=w * d_lo / p, minlength=n_levels)[1:]
    g_cut = lower - upper
    # cut_j = a_0 + sum_{m=1..j} exp(a_m): chain rule through the cumulative sum.
    tail = np.cumsum(g_cut[::-1])[::-1]
    g_a = np.concatenate([[tail[0]], tail[1:] * np.exp(a[1:])])
    return value, np.concatenate([g_beta, g_a])


MAX_ABS_COEF = 15.0  # |log OR| bound: a separated replicate stops here instead of running off to infinity


def fit_weighted(codes, x, w, n_levels, start: np.ndarray, maxiter: int = 200) -> np.ndarray:
    bounds = [(-MAX_ABS_COEF, MAX_ABS_COEF)] * x.shape[1] + [(None, None)] * (n_levels - 1)
    res = optimize.minimize(
        negloglik,
        start,
        args=(codes, x, w, n_levels),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": maxiter},
    )
    return res.x


def replicate_fit(codes, x, w, n_levels, start: np.ndarray) -> float:
    """PIE coefficient of one bootstrap replicate. Levels no drawn answer has are merged away (their
    thresholds would run off to infinity), and the thresholds start from the replicate's own cumulative
    proportions; the coefficients start from the full fit (the warm start)."""
    present = np.bincount(codes, weights=w, minlength=n_levels) > 0
    if present.sum() < 2:
        return np.nan
    recode = np.maximum(np.cumsum(present) - 1, 0)  # rows at an absent level have zero weight
    c, k = recode[codes], int(present.sum())
    cum = np.cumsum(np.bincount(c, weights=w, minlength=k))[:-1] / w.sum()
    cuts = np.log(cum / (1 - cum))
    thresholds = np.concatenate([cuts[:1], np.log(np.maximum(np.diff(cuts), 1e-6))])
    beta = start[: x.shape[1]]
    return float(fit_weighted(c, x, w, k, np.concatenate([beta, thresholds]), maxiter=100)[0])


def fit_statsmodels(codes: np.ndarray, x: np.ndarray, cluster: np.ndarray | None = None):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    model = OrderedModel(codes, x, distr="logit")
    kwargs = {"cov_type": "cluster", "cov_kwds": {"groups": cluster}} if cluster is not None else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(method="bfgs", disp=False, maxiter=500, **kwargs)
    messages = sorted({str(w.message).splitlines()[0] for w in caught if "converge" in str(w.message).lower()})
    if not fit.mle_retvals.get("converged", True):
        messages.append("BFGS did not converge")
    return fit, messages
