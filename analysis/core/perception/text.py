"""Holm correction per family of tests, and the plain-language sentence per question (never typed in).

A sentence quotes one method for its claim, its CI and its p: the published odds ratio (reader fixed
effects; ordinal for Likert, logistic for yes/no) with its two-way clustered Wald CI and the Holm-adjusted
Wald p of the same model. The CI is the 95% interval of the unadjusted test (and says so), so the claim
follows the adjusted p: "higher"/"lower" only when the Holm-adjusted p < 0.05 (the CI then excludes 1 as
well); otherwise the sentence says no clear difference was found (no evidence that the groups were rated
alike either), "after the Holm adjustment" when the unadjusted CI alone excludes 1. A "not estimable"
effect gives its reason, never a number. With 2 or 3 readers a "no clear difference" sentence says the
test had little power (see PILOT_READERS).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from analysis.core.perception.data import QuestionSpec


def holm(table: pd.DataFrame, p_col: str, out_col: str, missing_as_one: bool = False) -> pd.DataFrame:
    """Add `out_col`: Holm-adjusted `p_col` over the rows with a finite p (the family); others NaN.

    With ``missing_as_one`` every row is in the family and a missing p counts as 1 (it is ranked last, so
    the others' adjusted p do not depend on it); its own adjusted p stays NaN."""
    table = table.copy()
    p = pd.to_numeric(table.get(p_col, pd.Series(np.nan, index=table.index)), errors="coerce")
    ok = p.notna() & np.isfinite(p)
    table[out_col] = np.nan
    if ok.any():
        if missing_as_one:
            table.loc[ok, out_col] = multipletests(p.where(ok, 1.0).to_numpy(), method="holm")[1][ok.to_numpy()]
        else:
            table.loc[ok, out_col] = multipletests(p[ok].to_numpy(), method="holm")[1]
    return table


def fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def fmt_num(v: float, sig: int = 3) -> str:
    """`sig` significant digits, halves rounded up on the decimal value as written (2.15 -> "2.15",
    0.12345 -> "0.123", 3.85 at two digits -> "3.9", never binary-float "3.8"); tiny or huge in E notation."""
    if v is None or not np.isfinite(v):
        return "—"
    d = Decimal(repr(float(v)))
    if d == 0:
        return "0"
    r = d.quantize(Decimal(1).scaleb(d.adjusted() - sig + 1), rounding=ROUND_HALF_UP)
    if r.adjusted() != d.adjusted():  # 9.995 -> 10.0: one digit more before the point
        r = r.quantize(Decimal(1).scaleb(r.adjusted() - sig + 1), rounding=ROUND_HALF_UP)
    if -4 <= r.adjusted() < 6:
        return format(r, "f")
    return f"{r:.{sig - 1}E}"


# With this many readers or fewer (but more than one) the published test, Student t with readers - 1 df,
# has little power: in the planted-effect calibration at 3 readers x 60 cases it found the default effects
# (ORs about 2.2-2.5) in 26-27% of the studies, against 74-76% for the case-clustered test (README).
PILOT_READERS = 3

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
    note = str(effect.get("note") or "")
    if note.startswith("not estimable") or not np.isfinite(effect.get("odds_ratio", np.nan)):
        reason = note or "not estimable: no model estimate"
        return f"{q.text}: {reason}."
    up, down = _WORDS.get(q.key, (f"higher on '{q.text}'", f"lower on '{q.text}'"))
    lo, hi = effect["ci_low"], effect["ci_high"]
    p = effect.get("p_holm", np.nan)
    clear = np.isfinite(p) and p < 0.05
    if clear and lo > 1:
        verb = f"PIEs were rated {up}"
    elif clear and hi < 1:
        verb = f"PIEs were rated {down}"
    else:
        verb = f"No clear difference between PIEs and non-PIEs ({name})"
        if lo > 1 or hi < 1:  # the unadjusted CI excludes 1, the Holm-adjusted p does not reach 0.05
            verb += " after the Holm adjustment across questions"
    if q.kind == "yes_no":
        center = f"'yes' {100 * means['PIE']:.0f}% vs {100 * means['non-PIE']:.0f}%"
    else:
        center = f"mean {fmt_num(means['PIE'], 2)} vs {fmt_num(means['non-PIE'], 2)}"
    tail = " (simulated readers)" if simulated else ""
    if not clear and 1 < n_readers <= PILOT_READERS:
        tail += (
            f"; with {n_readers} readers the test (Student t with {n_readers - 1} df) has little power, so this "
            "is no evidence that PIEs and non-PIEs are rated alike"
        )
    return (
        f"{verb} ({center}; {effect['label']} {fmt_num(effect['odds_ratio'])}, "
        f"unadjusted 95% CI {fmt_num(lo)}-{fmt_num(hi)}; "
        f"Holm-adjusted {fmt_p(p)}; {n_readers} readers, {n_cases} cases){tail}."
    )
