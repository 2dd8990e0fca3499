"""Paper-exact statistics (Figure 6 of Holste et al. 2023), pooled over all readers.

As the paper's survey script computes them: yes = 1, no = 0, Likert points as numbers; per question
and group (PIE / non-PIE) the count, mean and sample SD (ddof = 1); Welch's t-test
(``ttest_ind(equal_var=False)``), Mann-Whitney U (scipy defaults: two-sided, continuity correction)
and Kruskal-Wallis, all on the pooled answers. Two differences, both about input the paper never had:
unanswered questions are left out (the paper's NaN would turn every p-value into NaN), and PIE status
comes from the case, never from a file's row position. Median, IQR and the full distribution are
additions.

These tests treat every answer as independent although answers share readers and cases; the
reader-aware statistics are in perception_effects and perception_models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.core.perception.data import GROUPS, PerceptionInput, QuestionSpec, not_estimable


def _groups(inp: PerceptionInput, q: QuestionSpec) -> dict[str, np.ndarray]:
    rows = inp.of(q.key)
    return {
        "PIE": rows.loc[rows["is_pie"], "y"].to_numpy(float),
        "non-PIE": rows.loc[~rows["is_pie"], "y"].to_numpy(float),
    }


def descriptive_table(inp: PerceptionInput) -> pd.DataFrame:
    """question, group, n, mean, sd, median, q1, q3, iqr, note."""
    out = []
    for q in inp.questions:
        for group, v in _groups(inp, q).items():
            row = {"question": q.key, "group": group, "n": len(v)}
            if len(v) == 0:
                row["note"] = not_estimable(f"no {group} answers")
            else:
                q1, med, q3 = np.percentile(v, [25, 50, 75])
                row.update(mean=v.mean(), median=med, q1=q1, q3=q3, iqr=q3 - q1, note="")
                row["sd"] = v.std(ddof=1) if len(v) > 1 else np.nan
                if len(v) == 1:
                    row["note"] = not_estimable("SD needs two answers")
            out.append(row)
    cols = ["question", "group", "n", "mean", "sd", "median", "q1", "q3", "iqr", "note"]
    return pd.DataFrame(out, columns=cols)


def distribution_table(inp: PerceptionInput) -> pd.DataFrame:
    """question, group, value, count, percent: every scale point, zero counts included."""
    out = []
    for q in inp.questions:
        for group, v in _groups(inp, q).items():
            for value in q.values:
                count = int((v == value).sum())
                out.append(
                    {
                        "question": q.key,
                        "group": group,
                        "value": value,
                        "count": count,
                        "percent": 100.0 * count / len(v) if len(v) else np.nan,
                    }
                )
    return pd.DataFrame(out, columns=["question", "group", "value", "count", "percent"])


def _test_reason(pie: np.ndarray, non: np.ndarray) -> str:
    for name, v in zip(GROUPS, (pie, non), strict=True):
        if len(v) < 2:
            return f"{len(v)} {name} answer(s); the tests need at least 2 per group"
    if np.ptp(np.concatenate([pie, non])) == 0:
        return f"every answer is {pie[0]:g}"
    return ""


def paper_tests_table(inp: PerceptionInput) -> pd.DataFrame:
    """question, n_pie, n_non_pie, welch_t, welch_p, mwu_u, mwu_p, kw_h, kw_p, note."""
    out = []
    for q in inp.questions:
        g = _groups(inp, q)
        pie, non = g["PIE"], g["non-PIE"]
        row = {"question": q.key, "n_pie": len(pie), "n_non_pie": len(non)}
        reason = _test_reason(pie, non)
        if reason:
            row["note"] = not_estimable(reason)
        else:
            t = stats.ttest_ind(pie, non, equal_var=False)
            u = stats.mannwhitneyu(pie, non)
            h = stats.kruskal(pie, non)
            row.update(
                welch_t=t.statistic,
                welch_p=t.pvalue,
                mwu_u=u.statistic,
                mwu_p=u.pvalue,
                kw_h=h.statistic,
                kw_p=h.pvalue,
                note="" if np.isfinite(t.pvalue) else "Welch's t undefined: no variance within both groups",
            )
        out.append(row)
    cols = ["question", "n_pie", "n_non_pie", "welch_t", "welch_p", "mwu_u", "mwu_p", "kw_h", "kw_p", "note"]
    return pd.DataFrame(out, columns=cols)
