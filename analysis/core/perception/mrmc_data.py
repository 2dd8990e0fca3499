"""The MRMC input: one row per rating (reader, modality, case, truth, rating), checked once, as an array.

Errors name the CSV row (1-based, counting the header as row 1) and the column, so a user can fix a file
exported from another tool. The design is read from who saw what:

- ``crossed``: every reader rated every case in every modality (the classic fully crossed study);
- ``split-plot``: readers fall into groups (this project's forms); a group's readers rate the same cases in
  every modality, and no two groups share a case;
- ``cases nested within readers``: a split-plot with one reader per group;
- ``partially paired``: anything else where every reader still read every modality (e.g. forms that share
  anchor cases). The covariances then come from the shared cases only (see delong.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.core.perception.data import not_estimable
from common.errors import AppError

COLUMNS = ("reader", "modality", "case", "truth", "rating")


class MrmcInputError(AppError):
    """The table cannot be analysed as it is; the message says which row, column or reading to fix."""


@dataclass
class MrmcData:
    modalities: list[str]
    readers: list[str]
    cases: list[str]
    truth: np.ndarray  # (cases,) bool, True = positive (the higher truth level)
    scores: np.ndarray  # (modalities, readers, cases), NaN where not rated

    @property
    def design(self) -> str:
        return design_of(self.scores)[0]

    @property
    def groups(self) -> list[list[str]]:
        return [[self.readers[r] for r in g] for g in design_of(self.scores)[1]]


def _rows(mask: pd.Series) -> str:
    rows = [str(i + 2) for i in np.flatnonzero(mask.to_numpy())[:5]]
    return ", ".join(rows) + (" ..." if mask.sum() > 5 else "")


def _truth(values: pd.Series) -> pd.Series:
    text = values.map(lambda v: "" if pd.isna(v) else str(v).strip().lower())
    mapped = text.map({"1": 1, "1.0": 1, "true": 1, "yes": 1, "0": 0, "0.0": 0, "false": 0, "no": 0})
    bad = mapped.isna()
    if bad.any():
        raise MrmcInputError(f"Column 'truth' must be 1/0 (or yes/no, true/false); row(s) {_rows(bad)} are not.")
    return mapped.astype(int)


def prepare_mrmc(frame: pd.DataFrame) -> MrmcData:
    """Check a (reader, modality, case, truth, rating) table and lay it out as modalities x readers x cases."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise MrmcInputError(f"The table lacks the column(s) {', '.join(missing)} (need {', '.join(COLUMNS)}).")
    if frame.empty:
        raise MrmcInputError("The table has no rows.")
    t = frame[list(COLUMNS)].reset_index(drop=True)
    for col in ("reader", "modality", "case"):
        empty = t[col].isna() | (t[col].astype(str).str.strip() == "")
        if empty.any():
            raise MrmcInputError(f"Column {col!r} is empty in row(s) {_rows(empty)}.")
        t[col] = t[col].astype(str).str.strip()
    rating = pd.to_numeric(t["rating"], errors="coerce")
    bad = rating.isna() | ~np.isfinite(rating.fillna(0))
    if bad.any():
        raise MrmcInputError(f"Column 'rating' must be a number; row(s) {_rows(bad)} are not.")
    t["rating"], t["truth"] = rating.astype(float), _truth(t["truth"])
    per_case = t.groupby("case")["truth"].nunique()
    if (per_case > 1).any():
        cases = ", ".join(per_case[per_case > 1].index[:5])
        raise MrmcInputError(f"Case(s) {cases} have both truth 0 and truth 1 in different rows.")
    dup = t.duplicated(["reader", "modality", "case"], keep=False)
    if dup.any():
        raise MrmcInputError(f"Row(s) {_rows(dup)} rate the same (reader, modality, case) more than once.")
    modalities = sorted(t["modality"].unique(), key=_natural)
    readers = sorted(t["reader"].unique(), key=_natural)
    cases = sorted(t["case"].unique(), key=_natural)
    truth = t.drop_duplicates("case").set_index("case")["truth"].reindex(cases).to_numpy() == 1
    if truth.all() or not truth.any():
        raise MrmcInputError("Every case has the same truth; an AUC needs positive (1) and negative (0) cases.")
    scores = np.full((len(modalities), len(readers), len(cases)), np.nan)
    idx = (pd.Index(modalities).get_indexer(t["modality"]), pd.Index(readers).get_indexer(t["reader"]))
    scores[idx[0], idx[1], pd.Index(cases).get_indexer(t["case"])] = t["rating"].to_numpy()
    _check_readings(scores, truth, modalities, readers)
    return MrmcData(modalities, readers, cases, truth, scores)


def _natural(text: str):
    return (0, float(text), text) if _is_number(text) else (1, 0.0, text)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_readings(scores: np.ndarray, truth: np.ndarray, modalities: list[str], readers: list[str]) -> None:
    seen = ~np.isnan(scores)
    for m, mod in enumerate(modalities):
        for r, reader in enumerate(readers):
            if not seen[m, r].any():
                raise MrmcInputError(
                    f"Reader {reader} rated no case in modality {mod}; the Obuchowski-Rockette analysis needs "
                    "every reader in every modality."
                )
            if not (seen[m, r] & truth).any() or not (seen[m, r] & ~truth).any():
                kind = "positive" if not (seen[m, r] & truth).any() else "negative"
                raise MrmcInputError(f"Reader {reader} rated no {kind} case in modality {mod}; no AUC exists.")


def design_of(scores: np.ndarray) -> tuple[str, list[list[int]]]:
    """The design's name and its reader groups (indices of readers who rated the same case set)."""
    seen = ~np.isnan(scores)
    n_mod, n_read = seen.shape[:2]
    if (seen == seen[:1, :1]).all():
        return "crossed", [list(range(n_read))]
    same_across_modalities = (seen == seen[:1]).all()
    sets: dict[bytes, list[int]] = {}
    for r in range(n_read):
        sets.setdefault(seen[0, r].tobytes(), []).append(r)
    groups = list(sets.values())
    masks = np.array([seen[0, g[0]] for g in groups])
    disjoint = (masks.sum(0) <= 1).all()
    if same_across_modalities and disjoint:
        name = "cases nested within readers" if all(len(g) == 1 for g in groups) else "split-plot"
        return name, groups
    return "partially paired", groups


def single_reading_notes(n_modalities: int, n_readers: int) -> list[str]:
    """What a design with one reader or one modality cannot estimate, in the project's wording."""
    notes = []
    if n_readers < 2:
        notes.append(
            not_estimable(
                "one reader: reader variance needs at least 2 readers, so there is no random-reader F test, "
                "ddf or CI; the fixed-reader analysis (inference for this reader only) is given instead"
            )
        )
    if n_modalities < 2:
        notes.append(
            not_estimable(
                "one modality: MS(T), Cov1, Cov3, the F test and modality differences need at least 2 "
                "modalities; the AUC with its CI is given"
            )
        )
    return notes


def json_ready(value):
    """Numbers and containers as plain JSON: numpy scalars to Python, NaN and infinities to null."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_ready(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value
