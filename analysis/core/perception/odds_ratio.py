"""The published PIE effect of every question: an odds ratio from the model with reader fixed effects.

Likert questions get the ordinal (proportional-odds) odds ratio, yes/no questions the logistic one (the
same model with two levels). The estimate is the maximum-likelihood exp(beta_PIE); its p-value and 95% CI
are the two-way (reader and case) cluster-robust Wald ones of ``clustered``, which kept type-I error and
coverage in the planted-effect calibration, also when readers differ in their PIE effect. The
case-clustered Wald CI and, in the full stage, the two-way cluster bootstrap CI are extra columns.

What it estimates: the PIE log odds ratio conditional on the reader (reader fixed effects) and averaged
over cases (no case term): with case-to-case variation it is smaller in size than the case-conditional
beta of a random-intercept model (about 1.97 where that beta is exp 0.80 = 2.23 in our simulations).

Not estimable, with the reason, instead of a number: one group missing, no variation, and separation (the
likelihood keeps rising as |beta| grows, e.g. every PIE answer is "yes"), which shows as an estimate at
|log OR| >= 10 or at the optimiser's box (MAX_ABS_COEF).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core.perception.clustered import SEPARATION_LOG_OR, fit_ordinal, separated, wald
from analysis.core.perception.data import PerceptionInput, QuestionSpec, not_estimable
from analysis.core.perception.effects import draw_weights
from analysis.core.perception.ordinal import design, replicate_fit

DEFAULT_ORDINAL_REPLICATES = 200
METHOD = "Wald, two-way cluster-robust (reader and case), Student t with readers - 1 df"


def _reason(rows: pd.DataFrame) -> str:
    if rows.empty:
        return "nobody answered"
    if rows["is_pie"].all() or not rows["is_pie"].any():
        return "only one group (PIE or non-PIE) was answered"
    if rows["y"].nunique() < 2:
        return f"every answer is {rows['y'].iloc[0]:g}"
    return ""


def _separation(rows: pd.DataFrame) -> str:
    """Quasi-complete separation visible in the raw answers: a whole group at the lowest or highest level."""
    lo, hi = rows["y"].min(), rows["y"].max()
    for name, g in (("PIE", rows[rows["is_pie"]]), ("non-PIE", rows[~rows["is_pie"]])):
        for level in (lo, hi):
            if (g["y"] == level).all():
                return not_estimable(f"separation (every {name} answer is {level:g})")
    return ""


def informative(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Readers who gave one answer throughout carry no information on the PIE effect under reader fixed
    effects (their intercept runs to infinity); they are left out and named."""
    varies = rows.groupby("reader")["y"].nunique()
    flat = sorted(varies.index[varies < 2])
    return rows[~rows["reader"].isin(flat)], flat


def ordinal_fit(inp: PerceptionInput, q: QuestionSpec) -> dict:
    """The odds ratio, its two-way clustered Wald CI and p, and the case-clustered CI and p."""
    rows = inp.of(q.key)
    label = "ordinal (proportional odds)" if q.kind == "likert" else "logistic"
    base = {"question": q.key, "model": f"{label}, reader fixed effects", "parameter": "PIE"}
    base.update(n_readers=int(rows["reader"].nunique()), n_cases=int(rows["case"].nunique()), n_answers=len(rows))
    reason = _reason(rows)
    if reason:
        return {**base, "note": not_estimable(reason)}
    used, flat = informative(rows)
    warn = f"left out {len(flat)} reader(s) who gave one answer throughout: {', '.join(flat)}" if flat else ""
    note = _separation(rows) or (not_estimable("no reader's answers vary") if used.empty else "")
    note = note or _reason(used)
    if note:
        return {**base, "warnings": warn, "note": note if note.startswith("not estimable") else not_estimable(note)}
    codes, x, _, levels = design(used)
    fit = fit_ordinal(codes, x, len(levels))
    if separated(fit):
        return {**base, "warnings": warn, "note": not_estimable("separation (the odds ratio runs to infinity)")}
    try:
        w = wald(fit, used["reader"].to_numpy(), used["case"].to_numpy())
    except np.linalg.LinAlgError:
        return {**base, "warnings": warn, "note": not_estimable("singular information matrix")}
    if not (np.isfinite(w["se"]) and w["se"] > 0):
        return {**base, "warnings": warn, "note": not_estimable("no finite standard error")}
    if not fit.converged:
        warn = "; ".join(filter(None, [warn, "the optimiser stopped before the gradient vanished"]))
    if used["reader"].nunique() == 1:
        warn = "; ".join(filter(None, [warn, "one reader: the CI covers case sampling only"]))
    return {
        **base,
        "odds_ratio": float(np.exp(w["log_or"])),
        "ci_low": w["ci_low"],
        "ci_high": w["ci_high"],
        "p": w["p"],
        "ci_method": METHOD,
        "log_or": w["log_or"],
        "se": w["se"],
        "df": w["df"],
        "ci_low_case": w["ci_low_case"],
        "ci_high_case": w["ci_high_case"],
        "p_case": w["p_case"],
        "levels": levels,
        "warnings": warn,
        "_params": fit.params,
        "_readers": sorted(used["reader"].unique()),
        "note": "",
    }


def ordinal_bootstrap(inp: PerceptionInput, q: QuestionSpec, fast: dict, n_boot: int, seed: int) -> dict:
    """Percentile CI of the odds ratio over two-way cluster bootstrap refits (an extra column: in the
    calibration it was conservative, type-I error 0-2%, with about half the power of the Wald test)."""
    if "_params" not in fast:
        return {}
    rows = inp.of(q.key)
    rows = rows[rows["reader"].isin(fast["_readers"])]
    codes, x, readers, levels = design(rows)
    case_pie = rows.drop_duplicates("case").set_index("case")["is_pie"]
    w = draw_weights(len(readers), case_pie.to_numpy(bool), n_boot, seed)
    r_idx = pd.Index(readers).get_indexer(rows["reader"])
    c_idx = pd.Index(list(case_pie.index)).get_indexer(rows["case"])
    start = fast["_params"]
    betas = np.array(
        [replicate_fit(codes, x, w.readers[b, r_idx] * w.cases[b, c_idx], len(levels), start) for b in range(n_boot)]
    )
    betas = betas[np.isfinite(betas)]
    out = {"n_boot": n_boot}
    share = float(np.mean(np.abs(betas) >= SEPARATION_LOG_OR)) if len(betas) else 1.0
    if share > 0.025:
        out["note_boot"] = not_estimable(f"separation in {100 * share:.0f}% of the bootstrap replicates")
        return out
    lo, hi = np.exp(np.percentile(betas, [2.5, 97.5]))
    return {**out, "ci_low_boot": float(lo), "ci_high_boot": float(hi)}
