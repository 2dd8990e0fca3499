"""Reader experience and session timing in the perception statistics (pure: pandas/numpy only).

Input is the tidy answer table with the reader-profile columns the reader study exports
(``profile_years_cxr``, ``profile_training_level``, ...; one value per reader) and, for the repeat gaps,
``case_completed_at`` and ``repeat_of_case_id``:

- ``experience_groups``: per question, experience group and PIE status: readers, answers, mean, SD. Groups
  are years reading chest X-rays binned as 0-4, 5-9 and >= 10 years (``EXPERIENCE_BINS``).
- ``experience_model``: the crossed linear mixed model of ``mixed_models.mixed_linear`` (REML, random
  intercepts for reader and case) with years of experience added as a fixed covariate: the PIE effect
  adjusted for experience, and the experience slope per year.
- ``repeat_gaps``: per reader, the number of repeat pairs and the time between finishing a case and
  finishing its hidden repeat (median, min, max in days), the gap the intra-reader agreement is read over.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core.perception.mixed_reml import fit_crossed_intercepts

YEARS = "profile_years_cxr"
EXPERIENCE_BINS = [(0, 5, "0-4 y"), (5, 10, "5-9 y"), (10, np.inf, ">=10 y")]
Z = 1.959963984540054


def experience_group(years: float) -> str:
    for lo, hi, label in EXPERIENCE_BINS:
        if lo <= years < hi:
            return label
    return "unknown"


def _analysed(tidy: pd.DataFrame) -> pd.DataFrame:
    """Answered, non-repeat rows with a numeric value and the reader's years of experience."""
    t = tidy.copy()
    t["y"] = pd.to_numeric(t["value_numeric"], errors="coerce")
    t["years"] = pd.to_numeric(t[YEARS], errors="coerce")
    repeat = t["repeat_of_case_id"] if "repeat_of_case_id" in t else pd.Series(np.nan, index=t.index)
    t = t[repeat.isna() | (repeat.astype(str) == "")]
    t = t[t["y"].notna() & t["years"].notna()]
    pie = t["is_pie"].map(lambda v: str(v).strip().lower() in ("1", "true", "yes"))
    return t.assign(is_pie=pie.astype(int), reader=t["reader"].astype(str), case=t["case_id"].astype(str))


def experience_groups(tidy: pd.DataFrame) -> pd.DataFrame:
    cols = ["question", "experience", "is_pie", "n_readers", "n_answers", "mean", "sd"]
    if YEARS not in tidy:
        return pd.DataFrame(columns=cols)
    t = _analysed(tidy)
    t = t.assign(experience=t["years"].map(experience_group))
    out = (
        t.groupby(["question", "experience", "is_pie"])
        .agg(n_readers=("reader", "nunique"), n_answers=("y", "size"), mean=("y", "mean"), sd=("y", "std"))
        .reset_index()
    )
    return out[cols]


def experience_model(tidy: pd.DataFrame) -> pd.DataFrame:
    """Per question: the PIE effect and the per-year experience slope in one crossed mixed model."""
    cols = ["question", "parameter", "estimate", "ci_low", "ci_high", "p", "n_readers", "note"]
    if YEARS not in tidy:
        return pd.DataFrame(columns=cols)
    t, out = _analysed(tidy), []
    for q, rows in t.groupby("question"):
        n_readers = rows["reader"].nunique()
        if n_readers < 3 or rows["years"].nunique() < 2 or rows["is_pie"].nunique() < 2:
            note = "not estimable: needs >= 3 readers with different experience and both PIEs and non-PIEs"
            out.append({"question": q, "parameter": "years_cxr", "n_readers": n_readers, "note": note})
            continue
        factors = {"reader": rows["reader"].to_numpy()}
        if rows.groupby("case")["reader"].nunique().max() > 1:
            factors["case"] = rows["case"].to_numpy()
        X = np.column_stack([np.ones(len(rows)), rows["is_pie"], rows["years"]]).astype(float)
        fit = fit_crossed_intercepts(rows["y"].to_numpy(float), X, factors)
        for k, name in ((1, "is_pie (adjusted for years)"), (2, "years_cxr (per year)")):
            b, se = float(fit.beta[k]), float(fit.se[k])
            out.append(
                {"question": q, "parameter": name, "estimate": b, "ci_low": b - Z * se, "ci_high": b + Z * se,
                 "p": float(fit.p[k]), "n_readers": n_readers, "note": ""}
            )  # fmt: skip
    return pd.DataFrame(out, columns=cols)


def repeat_gaps(tidy: pd.DataFrame) -> pd.DataFrame:
    cols = ["reader", "n_pairs", "median_gap_days", "min_gap_days", "max_gap_days"]
    if "case_completed_at" not in tidy or "repeat_of_case_id" not in tidy:
        return pd.DataFrame(columns=cols)
    t = tidy[["reader", "case_id", "repeat_of_case_id", "case_completed_at"]].drop_duplicates(["reader", "case_id"])
    t = t.assign(done=pd.to_datetime(t["case_completed_at"], utc=True, errors="coerce"))
    rep = t[t["repeat_of_case_id"].notna() & (t["repeat_of_case_id"].astype(str) != "")]
    if rep.empty:
        return pd.DataFrame(columns=cols)
    first = t[["reader", "case_id", "done"]].assign(case_id=t["case_id"].astype(str))
    rep = rep.assign(case_id=rep["repeat_of_case_id"].map(lambda v: str(int(float(v)))))
    pairs = rep[["reader", "case_id", "done"]].merge(first, on=["reader", "case_id"], suffixes=("_repeat", "_first"))
    pairs["gap"] = (pairs["done_repeat"] - pairs["done_first"]).dt.total_seconds() / 86400
    pairs = pairs[pairs["gap"].notna()]
    out = pairs.groupby("reader")["gap"].agg(n_pairs="size", median_gap_days="median", min_gap_days="min",
                                             max_gap_days="max").reset_index()  # fmt: skip
    return out[cols]


def protocol_tables(tidy: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The three tables above, by name (empty frames where the study has no profiles or repeats)."""
    return {
        "experience_groups": experience_groups(tidy),
        "experience_model": experience_model(tidy),
        "repeat_gaps": repeat_gaps(tidy),
    }
