"""Holm correction per family of tests, and the plain-language sentence per question (never typed in).

A sentence cites the reader fixed-effects model: the ordinal odds ratio for Likert questions and the
logistic (two-level) odds ratio for yes/no, with its bootstrap CI once computed (the case-clustered
Wald CI before) and the Holm-adjusted p-value of that model family. "Lower"/"higher" is said only when the CI
excludes 1; otherwise the sentence says no clear difference was found (a CI that includes 1 is no
evidence that the groups were rated alike).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from analysis.core.perception.data import QuestionSpec


def holm(table: pd.DataFrame, p_col: str, out_col: str) -> pd.DataFrame:
    """Add `out_col`: Holm-adjusted `p_col` over the rows with a finite p (the family); others NaN."""
    table = table.copy()
    p = pd.to_numeric(table.get(p_col, pd.Series(np.nan, index=table.index)), errors="coerce")
    ok = p.notna() & np.isfinite(p)
    table[out_col] = np.nan
    if ok.any():
        table.loc[ok, out_col] = multipletests(p[ok].to_numpy(), method="holm")[1]
    return table


def fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _num(v: float, digits: int = 2) -> str:
    return f"{v:.{digits}f}"


_WORDS = {
    # key: (what "higher" means for the reader, what "lower" means)
    "quality": ("higher in quality", "lower in quality"),
    "difficulty": ("as more difficult to diagnose", "as less difficult to diagnose"),
    "agree_label": ("as having correct labels more often", "as having correct labels less often"),
}


def sentence(
    q: QuestionSpec,
    means: dict[str, float],
    effect: dict,
    n_readers: int,
    n_cases: int,
    simulated: bool = False,
) -> str:
    """One sentence from the numbers. `effect`: odds_ratio, ci_low, ci_high, p_holm, label, or note."""
    name = q.text if q.key not in _WORDS else q.key.replace("_", " ")
    if effect.get("note", "").startswith("not estimable") or not np.isfinite(effect.get("odds_ratio", np.nan)):
        reason = effect.get("note") or "not estimable: no model estimate"
        return f"{q.text}: {reason}."
    up, down = _WORDS.get(q.key, (f"higher on '{q.text}'", f"lower on '{q.text}'"))
    lo, hi = effect["ci_low"], effect["ci_high"]
    if lo > 1:
        verb = f"PIEs were rated {up}"
    elif hi < 1:
        verb = f"PIEs were rated {down}"
    else:
        verb = f"No clear difference between PIEs and non-PIEs ({name})"
    if q.kind == "yes_no":
        center = f"'yes' {100 * means['PIE']:.0f}% vs {100 * means['non-PIE']:.0f}%"
    else:
        center = f"mean {_num(means['PIE'], 1)} vs {_num(means['non-PIE'], 1)}"
    p = effect.get("p_holm", np.nan)
    tail = " (simulated readers)" if simulated else ""
    return (
        f"{verb} ({center}; {effect['label']} {_num(effect['odds_ratio'])}, 95% CI {_num(lo)}-{_num(hi)}; "
        f"Holm-adjusted {fmt_p(p)}; {n_readers} readers, {n_cases} cases){tail}."
    )
