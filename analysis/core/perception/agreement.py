"""Agreement between readers (anchor cases) and within a reader (hidden repeats).

- Anchor cases are the cases read by two or more readers (hidden repeats excluded).
- Krippendorff's alpha (``krippendorff`` package): nominal for yes/no, ordinal for Likert, on the
  readers x anchor-cases matrix (missing readings allowed).
- Fleiss' kappa (statsmodels) needs the same number of readers on every case, so it uses the anchor
  cases read by the largest number of readers (``n_cases_fleiss`` says how many).
- Reader bias: the reader's mean of (their answer - the case's consensus) over their anchor cases,
  consensus = mean of all readers of that case. Positive = rates higher than the others.
- Pairwise exact agreement (% of shared cases with the same answer), the agreement matrix figure.
- Intra-reader: each hidden repeat paired with the same reader's answer to the original case; Cohen's
  kappa, quadratic-weighted for Likert (unweighted for yes/no), and exact agreement in %.
"""

from __future__ import annotations

import itertools

import krippendorff
import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from analysis.core.perception.data import PerceptionInput, answer_matrix, case_key, not_estimable


def anchor_rows(rows: pd.DataFrame) -> pd.DataFrame:
    n = rows.groupby("case")["reader"].transform("nunique")
    return rows[n >= 2]


def inter_reader(inp: PerceptionInput) -> pd.DataFrame:
    """question, level, alpha, fleiss_kappa, n_cases, n_readers, n_cases_fleiss, n_readers_fleiss, note."""
    out = []
    for q in inp.questions:
        rows = anchor_rows(inp.of(q.key))
        readers, cases = sorted(rows["reader"].unique()), sorted(rows["case"].unique(), key=case_key)
        level = "nominal" if q.kind == "yes_no" else "ordinal"
        row = {"question": q.key, "level": level, "n_cases": len(cases), "n_readers": len(readers)}
        if not cases:
            out.append({**row, "note": not_estimable("no case was read by two or more readers")})
            continue
        y = answer_matrix(rows, readers, cases)
        if np.unique(y[~np.isnan(y)]).size < 2:
            out.append({**row, "note": not_estimable(f"every anchor answer is {np.nanmax(y):g}: no variation")})
            continue
        row["alpha"] = float(krippendorff.alpha(reliability_data=y, level_of_measurement=level, value_domain=q.values))
        per_case = (~np.isnan(y)).sum(0)
        full = per_case == per_case.max()
        table = np.stack([(y[:, full] == v).sum(0) for v in q.values], axis=1)
        row.update(n_cases_fleiss=int(full.sum()), n_readers_fleiss=int(per_case.max()))
        if full.sum() >= 2:
            with np.errstate(invalid="ignore", divide="ignore"):
                row["fleiss_kappa"] = float(fleiss_kappa(table, method="fleiss"))
        row["note"] = "" if np.isfinite(row.get("fleiss_kappa", np.nan)) else "Fleiss' kappa not estimable here"
        out.append(row)
    cols = ["question", "level", "alpha", "fleiss_kappa", "n_cases", "n_readers", "n_cases_fleiss"]
    return pd.DataFrame(out, columns=[*cols, "n_readers_fleiss", "note"])


def reader_bias(inp: PerceptionInput) -> pd.DataFrame:
    """question, reader, n_cases, bias (mean offset from the consensus), reader_mean."""
    out = []
    for q in inp.questions:
        rows = anchor_rows(inp.of(q.key))
        if rows.empty:
            continue
        offset = rows["y"] - rows.groupby("case")["y"].transform("mean")
        g = rows.assign(offset=offset).groupby("reader")
        for reader, part in g:
            out.append(
                {
                    "question": q.key,
                    "reader": reader,
                    "n_cases": len(part),
                    "bias": float(part["offset"].mean()),
                    "reader_mean": float(part["y"].mean()),
                }
            )
    return pd.DataFrame(out, columns=["question", "reader", "n_cases", "bias", "reader_mean"])


def pairwise_agreement(inp: PerceptionInput) -> pd.DataFrame:
    """question, reader_a, reader_b, n_shared, agreement_percent (both orders, for a square matrix)."""
    out = []
    for q in inp.questions:
        rows = inp.of(q.key)
        by_reader = {r: part.set_index("case")["y"] for r, part in rows.groupby("reader")}
        for a, b in itertools.permutations(sorted(by_reader), 2):
            shared = by_reader[a].index.intersection(by_reader[b].index)
            same = (by_reader[a][shared] == by_reader[b][shared]).mean() * 100 if len(shared) else np.nan
            out.append(
                {"question": q.key, "reader_a": a, "reader_b": b, "n_shared": len(shared), "agreement_percent": same}
            )
    return pd.DataFrame(out, columns=["question", "reader_a", "reader_b", "n_shared", "agreement_percent"])


def intra_reader(inp: PerceptionInput) -> pd.DataFrame:
    """question, weighting, kappa, exact_agreement_percent, n_pairs, n_readers, note."""
    out = []
    for q in inp.questions:
        pairs = inp.repeats[inp.repeats["question"] == q.key]
        weights = "quadratic" if q.kind == "likert" else None
        row = {
            "question": q.key,
            "weighting": weights or "unweighted",
            "n_pairs": len(pairs),
            "n_readers": int(pairs["reader"].nunique()),
        }
        if pairs.empty:
            out.append({**row, "note": not_estimable("no hidden repeats were answered")})
            continue
        first, again = pairs["first"].to_numpy(), pairs["repeat"].to_numpy()
        row["exact_agreement_percent"] = float((first == again).mean() * 100)
        if np.unique(np.concatenate([first, again])).size < 2:
            row["note"] = not_estimable(f"every answer is {first[0]:g}: kappa undefined")
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                row["kappa"] = float(cohen_kappa_score(first, again, labels=q.values, weights=weights))
            row["note"] = ""
        out.append(row)
    cols = ["question", "weighting", "kappa", "exact_agreement_percent", "n_pairs", "n_readers", "note"]
    return pd.DataFrame(out, columns=cols)
