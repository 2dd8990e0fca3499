"""VGC-style MRMC analysis of a perception study: PIE status as truth, a reader's rating as the score.

For each analysed question (Likert or yes/no) the empirical AUC of reader r is
P(r rates a PIE higher than a non-PIE) + 1/2 P(tie), the visual grading characteristic (VGC) area of
Bath & Mansson (2007). 0.5 = no difference; above 0.5 PIEs get higher ratings (e.g. harder to diagnose);
below 0.5 lower ones (e.g. poorer quality). The reader-averaged AUC gets the Obuchowski-Rockette single-
modality CI with Hillis ddf (mrmc.py), cases and readers random, and a t test against 0.5; the design
(crossed, or readers nested in forms, with or without shared anchor cases) is taken from who read what.
Hidden repeats are left out (data.prepare).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from scipy import stats

from analysis.core.perception.data import not_estimable, prepare
from analysis.core.perception.mrmc import analyse
from analysis.core.perception.mrmc_data import MrmcInputError, json_ready, prepare_mrmc
from common.files import atomic_write_text

DEFINITION = (
    "VGC AUC = P(a reader rates a PIE higher than a non-PIE) + 1/2 P(tie), averaged over readers; "
    "Obuchowski-Rockette CI with Hillis ddf (readers and cases random), covariance by {cov}; t test of AUC = 0.5."
)


def _row(key: str, res: dict) -> dict:
    mod = res["modality"][0]
    row = {
        "question": key,
        "design": res["design"],
        "n_readers": res["n_readers"],
        "n_cases": res["n_cases"],
        "n_pie": res["n_positive"],
        "n_non_pie": res["n_negative"],
        "auc": mod["auc"],
        "note": "",
    }
    if "se" in mod:
        row.update({k: mod[k] for k in ("se", "df", "ci_low", "ci_high")}, p=mod["p_vs_half"])
        row.update(var_error=res["var_error"], cov2=res["cov2"], ms_r=mod["ms_r"])
    else:
        # One reader: only the fixed-reader interval (inference for this reader, cases random) exists.
        se = float(mod["se_fixed_readers"])
        row.update(se=se, ci_low=mod["ci_low_fixed_readers"], ci_high=mod["ci_high_fixed_readers"])
        row.update(p=float(2 * stats.norm.sf(abs(mod["auc"] - 0.5) / se)) if se > 0 else float("nan"))
        row["note"] = "one reader: fixed-reader CI (this reader only); " + res["notes"][0]
    return row


def vgc_analysis(tidy: pd.DataFrame, questions: list[dict] | None = None, cov_method: str = "delong") -> dict:
    """Per-question VGC AUCs with OR CIs, as {"rows": [...], "sentences": [...], "definition": str}."""
    inp = prepare(tidy, questions)
    rows = []
    for q in inp.questions:
        a = inp.of(q.key)
        frame = pd.DataFrame(
            {
                "reader": a["reader"],
                "modality": q.key,
                "case": a["case"],
                "truth": a["is_pie"].astype(int),
                "rating": a["y"],
            }
        )
        try:
            rows.append(_row(q.key, analyse(prepare_mrmc(frame), cov_method)))
        except MrmcInputError as exc:
            rows.append({"question": q.key, "auc": None, "note": not_estimable(str(exc))})
    return {
        "rows": rows,
        "sentences": [_sentence(r) for r in rows],
        "definition": DEFINITION.format(cov="DeLong" if cov_method == "delong" else "the case jackknife"),
        "cov_method": cov_method,
    }


def write_vgc(tidy: pd.DataFrame, questions, out_dir, cov_method: str = "delong") -> dict:
    """vgc_analysis written to out_dir/mrmc_vgc.json (NaN as null); returns the result."""
    result = vgc_analysis(tidy, questions, cov_method)
    text = json.dumps(json_ready(result), indent=2, allow_nan=False)
    atomic_write_text(Path(out_dir) / "mrmc_vgc.json", text + "\n")
    return result


def _sentence(row: dict) -> str:
    if row.get("auc") is None:
        return f"{row['question']}: VGC AUC {row['note'] or 'not estimable'}."
    direction = "higher" if row["auc"] > 0.5 else "lower"
    claim = (
        f"readers rated PIEs {direction} than non-PIEs"
        if row["p"] < 0.05
        else "no clear difference between PIEs and non-PIEs"
    )
    return (
        f"{row['question']}: VGC AUC {row['auc']:.2f} (95% CI {row['ci_low']:.2f}-{row['ci_high']:.2f}, "
        f"p = {row['p']:.2g} vs 0.5; {_count(row['n_readers'], 'reader')}, {row['n_cases']} cases, "
        f"{row['design']}): {claim}" + (" (for this one reader only)." if row["n_readers"] == 1 else ".")
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
