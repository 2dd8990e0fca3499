"""Reader- and case-aware models of the PIE effect, and the dose-response on the PIE correlation.

- ``mixed_linear``: y = b0 + b1 PIE + u_reader + v_case + e, with crossed random intercepts, fitted by
  REML (``mixed_reml``: lme4's profiled criterion; it agrees with statsmodels ``MixedLM`` with readers
  and cases as variance components of one group, and is far faster). When no case was read twice, case
  and residual variance cannot be told apart; the model then has reader intercepts only and says so.
  It assumes every reader has the same PIE effect: when readers differ (reader SD 1 on the latent scale)
  its CI covered the truth too rarely in the calibration, so it is an extra, never the published effect.
  A singular system or a variance running to its bound makes the row "not estimable" with the reason.
  (The yes/no mixed logistic model by variational Bayes was removed: its p rejected a true null 23-37%
  of the time. The yes/no effect is the logistic odds ratio of ``odds_ratio``.)
- ``dose_response``: Spearman rho between each case's mean rating and its PIE correlation (cases are
  the units; CI by Fisher's z with the Bonett-Wright SE), and the slope of the correlation in the
  crossed mixed model y ~ correlation.
Each returns a dict with n_readers, n_cases, n_answers, warnings and a note ("not estimable: ...").
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from analysis.core.perception.data import PerceptionInput, QuestionSpec, not_estimable
from analysis.core.perception.mixed_reml import SingularFitError, fit_crossed_intercepts

Z = stats.norm.ppf(0.975)


def _counts(rows: pd.DataFrame) -> dict:
    return {"n_readers": int(rows["reader"].nunique()), "n_cases": int(rows["case"].nunique()), "n_answers": len(rows)}


def _reason(rows: pd.DataFrame, need_readers: int = 2, covariate: str = "is_pie") -> str:
    if rows.empty:
        return "nobody answered"
    if rows["reader"].nunique() < need_readers:
        return f"{rows['reader'].nunique()} reader(s); reader variance needs at least {need_readers}"
    if covariate == "is_pie" and (rows["is_pie"].all() or not rows["is_pie"].any()):
        return "only one group (PIE or non-PIE) was answered"
    if rows["y"].nunique() < 2:
        return f"every answer is {rows['y'].iloc[0]:g}"
    return ""


def _caught(caught) -> str:
    return "; ".join(sorted({str(w.message).splitlines()[0] for w in caught}))


def _crossed_mixedlm(rows: pd.DataFrame, term: str):
    crossed = rows.groupby("case")["reader"].nunique().max() > 1
    factors = {"reader": rows["reader"].to_numpy()}
    if crossed:
        factors["case"] = rows["case"].to_numpy()
    X = np.column_stack([np.ones(len(rows)), rows[term].to_numpy(float)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_crossed_intercepts(rows["y"].to_numpy(float), X, factors)
    return fit, crossed, _caught(caught)


def mixed_linear(inp: PerceptionInput, q: QuestionSpec, term: str = "is_pie") -> dict:
    rows = inp.of(q.key)
    if term == "correlation":
        rows = rows[rows["correlation"].notna()]
    out = {
        "question": q.key,
        "model": "linear mixed model (REML), crossed reader and case intercepts",
        "parameter": term,
    }
    out.update(_counts(rows))
    reason = _reason(rows, covariate=term)
    if not reason and term == "correlation" and rows["correlation"].nunique() < 2:
        reason = "no variation in the cases' PIE correlation"
    if reason:
        return {**out, "note": not_estimable(reason)}
    try:
        fit, crossed, caught = _crossed_mixedlm(rows, term)
    except SingularFitError as exc:
        return {**out, "note": not_estimable(str(exc))}
    b, se = float(fit.beta[1]), float(fit.se[1])
    out.update(
        estimate=b,
        ci_low=b - Z * se,
        ci_high=b + Z * se,
        p=float(fit.p[1]),
        var_reader=fit.variances.get("reader", np.nan),
        var_case=fit.variances.get("case", np.nan),
        var_residual=fit.scale,
        converged=bool(fit.converged),
        warnings=caught + ("" if fit.converged else "; the REML optimiser did not converge"),
        note="" if crossed else "case variance not estimable: every case was read once (confounded with residual)",
    )
    if not crossed:
        out["model"] = "linear mixed model (REML), reader intercepts"
    return out


def spearman_dose_response(inp: PerceptionInput, q: QuestionSpec) -> dict:
    """Spearman rho of the case mean rating vs the case's PIE correlation (cases are the units)."""
    rows = inp.of(q.key)
    rows = rows[rows["correlation"].notna()]
    per_case = rows.groupby("case").agg(y=("y", "mean"), correlation=("correlation", "first"))
    out = {"question": q.key, "n_cases": len(per_case), "n_answers": len(rows)}
    if len(per_case) < 4:
        return {**out, "note": not_estimable(f"{len(per_case)} case(s) with a PIE correlation; need at least 4")}
    if per_case["y"].nunique() < 2 or per_case["correlation"].nunique() < 2:
        return {**out, "note": not_estimable("no variation in the ratings or in the correlation")}
    rho, p = stats.spearmanr(per_case["correlation"], per_case["y"])
    n = len(per_case)
    se = np.sqrt((1 + rho**2 / 2) / (n - 3))
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    return {
        **out,
        "rho": float(rho),
        "ci_low": float(np.tanh(z - Z * se)),
        "ci_high": float(np.tanh(z + Z * se)),
        "p": float(p),
        "note": "",
    }
