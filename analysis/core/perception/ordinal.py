"""Proportional-odds (ordinal logistic) model for a 1-K question, with reader fixed effects.

Model: P(Y <= k | x) = logistic(theta_k - x'beta), x = [PIE, reader dummies (first reader as
reference)]. exp(beta_PIE) is the ordinal odds ratio: > 1 means PIEs get higher ratings, whichever
reader reads them. The point estimate and its Wald CIs come from statsmodels ``OrderedModel``: the
model-based one and a cluster-robust one clustered by case (a case read by several readers gives
correlated answers; reader correlation is absorbed by the fixed effects).

The reported CI is the two-way cluster bootstrap of perception_effects (readers and cases resampled,
same weights), refitted on weighted data by ``fit_weighted``: the same likelihood and parametrisation
as OrderedModel (thresholds theta_1, then log increments), minimised by L-BFGS with the analytic
gradient and warm-started from the full fit. A test checks that it gives statsmodels' estimates.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import expit

from analysis.core.perception.data import PerceptionInput, QuestionSpec, not_estimable
from analysis.core.perception.effects import draw_weights

DEFAULT_ORDINAL_REPLICATES = 200


def design(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str], list[float]]:
    """Codes 0..L-1 of the observed levels, X = [PIE, reader dummies], readers, levels."""
    levels = sorted(rows["y"].unique())
    codes = np.searchsorted(levels, rows["y"].to_numpy())
    readers = sorted(rows["reader"].unique())
    dummies = (rows["reader"].to_numpy()[:, None] == np.array(readers[1:])[None, :]).astype(float)
    x = np.column_stack([rows["is_pie"].to_numpy(float), dummies])
    return codes, x, readers, levels


def _cuts(a: np.ndarray) -> np.ndarray:
    return np.cumsum(np.concatenate([a[:1], np.exp(a[1:])]))


def negloglik(params: np.ndarray, codes: np.ndarray, x: np.ndarray, w: np.ndarray, n_levels: int):
    """Weighted negative log-likelihood and its gradient (parameters as in OrderedModel: beta, a)."""
    k = x.shape[1]
    beta, a = params[:k], params[k:]
    cuts = np.concatenate([[-np.inf], _cuts(a), [np.inf]])
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


def _replicate_fit(codes, x, w, n_levels, start: np.ndarray) -> float:
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


def ordinal_fit(inp: PerceptionInput, q: QuestionSpec) -> dict:
    """The fast part: OrderedModel point estimate, model-based and case-clustered Wald CIs."""
    rows = inp.of(q.key)
    base = {"question": q.key, "model": "OrderedModel (logit), reader fixed effects", "parameter": "PIE"}
    base.update(n_readers=int(rows["reader"].nunique()), n_cases=int(rows["case"].nunique()), n_answers=len(rows))
    reason = _reason(rows)
    if reason:
        return {**base, "note": not_estimable(reason)}
    codes, x, _, levels = design(rows)
    cases = pd.factorize(rows["case"])[0]
    fit, messages = fit_statsmodels(codes, x, cluster=cases)
    b, se = float(fit.params[0]), float(fit.bse[0])
    z = stats.norm.ppf(0.975)
    # Inverse Hessian: the model-based SE. statsmodels leaves no matrix when the Hessian is singular (small,
    # separated data): then that SE is not estimable, said in the warnings, not a crash of the whole page.
    cov = np.asarray(fit.normalized_cov_params if fit.normalized_cov_params is not None else np.nan, float)
    model_se = float(np.sqrt(np.diag(cov))[0]) if cov.ndim == 2 else np.nan
    if cov.ndim != 2:
        messages.append("singular Hessian: no model-based SE")
    return {
        **base,
        "log_or": b,
        "odds_ratio": float(np.exp(b)),
        "ci_low_cluster": float(np.exp(b - z * se)),
        "ci_high_cluster": float(np.exp(b + z * se)),
        "p_cluster": float(2 * stats.norm.sf(abs(b / se))) if se > 0 else np.nan,
        "se_model": model_se,
        "levels": levels,
        "warnings": "; ".join(messages),
        "_params": np.asarray(fit.params, float),
        "note": "",
    }


def _reason(rows: pd.DataFrame) -> str:
    if rows.empty:
        return "nobody answered"
    if rows["is_pie"].all() or not rows["is_pie"].any():
        return "only one group (PIE or non-PIE) was answered"
    if rows["y"].nunique() < 2:
        return f"every answer is {rows['y'].iloc[0]:g}"
    return ""


def ordinal_bootstrap(inp: PerceptionInput, q: QuestionSpec, fast: dict, n_boot: int, seed: int) -> dict:
    """The slow part: percentile CI of the odds ratio over two-way cluster bootstrap refits."""
    if "_params" not in fast:
        return {"n_boot": 0}
    rows = inp.of(q.key)
    codes, x, readers, levels = design(rows)
    case_pie = rows.drop_duplicates("case").set_index("case")["is_pie"]
    cases = list(case_pie.index)
    w = draw_weights(len(readers), case_pie.to_numpy(bool), n_boot, seed)
    r_idx = pd.Index(readers).get_indexer(rows["reader"])
    c_idx = pd.Index(cases).get_indexer(rows["case"])
    start = fast["_params"]
    betas = np.array(
        [_replicate_fit(codes, x, w.readers[b, r_idx] * w.cases[b, c_idx], len(levels), start) for b in range(n_boot)]
    )
    betas = betas[np.isfinite(betas)]
    lo, hi = np.exp(np.percentile(betas, [2.5, 97.5]))
    return {"n_boot": n_boot, "ci_low": float(lo), "ci_high": float(hi)}
