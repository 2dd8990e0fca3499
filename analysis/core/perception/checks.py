"""The one strict check of a tidy answer table, whether it came from a CSV file or from the database.

A table is refused (``PerceptionInputError``, a message naming the row and the column) when it has no
answer rows; a required column is missing; reader, case_id, is_pie, question or question_kind is blank; a
PIE flag is not 1/0, yes/no or true/false; a question has two kinds or scales; an answer of a yes/no or
Likert question is not a number, not finite, or not a point of the question's scale (0/1 for yes/no,
1..scale for Likert); a PIE correlation is not a finite number; a case has rows with different PIE flags;
or one reader answered one question on one case twice with different values. Two identical answers are
one answer: the copy is dropped and counted. Rows are numbered from 1 in table order (row 1 is the line
after a CSV's header). A blank answer is an unanswered question and is left out, as before.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd

from common.errors import AppError

REQUIRED = ("reader", "case_id", "is_pie", "question", "question_kind", "value_numeric")
ANALYSED_KINDS = ("yes_no", "likert")
_TRUE = {"1", "true", "yes", "t", "y", "1.0"}
_FALSE = {"0", "false", "no", "f", "n", "0.0"}


class PerceptionInputError(AppError):
    """The table cannot be analysed as it is; the message says where and why."""


def _rows(mask: pd.Series | np.ndarray) -> str:
    idx = np.flatnonzero(np.asarray(mask)) + 1
    head = ", ".join(str(i) for i in idx[:5])
    more = f" (and {len(idx) - 5} more)" if len(idx) > 5 else ""
    return f"{'Row' if len(idx) == 1 else 'Rows'} {head}{more}"


def refuse(mask, column: str, problem: str) -> None:
    raise PerceptionInputError(f"{_rows(mask)}, column '{column}': {problem}.")


def text(values: pd.Series) -> pd.Series:
    """Every cell as stripped text; blank (None, NaN, "") as "". Whole floats lose their ".0", so ids read
    from a column pandas parsed as float (because of a blank) match the same ids written as integers."""

    def one(v) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        if isinstance(v, float | np.floating) and np.isfinite(v) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()

    return values.map(one).astype(object)


def parse_flag(values: pd.Series, column: str, blank_ok: bool = False) -> pd.Series:
    """1/0, yes/no, true/false (any case) -> bool; anything else refused, naming the rows."""
    t = text(values).str.lower()
    if not blank_ok:
        blank = t == ""
        if blank.any():
            refuse(blank, column, "blank (must be 1/0, yes/no or true/false)")
    bad = ~t.isin(_TRUE | _FALSE | ({""} if blank_ok else set()))
    if bad.any():
        refuse(bad, column, f"'{values[bad].iloc[0]}' is not 1/0, yes/no or true/false")
    return t.isin(_TRUE)


def read_tidy_csv(source: str | os.PathLike | io.IOBase) -> pd.DataFrame:
    """A tidy CSV as text cells (no guessing of types: case ids stay as written); empty files refused."""
    try:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise PerceptionInputError("The file is empty: it needs a header and at least one answer row.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PerceptionInputError(f"The file is not a readable CSV table ({first}).") from None
    return frame


def _numbers(values: pd.Series, column: str) -> pd.Series:
    """Numbers, blank as NaN; text that is not a number, and inf or NaN written out, refused."""
    t = text(values)
    num = pd.to_numeric(t.where(t != "", None), errors="coerce").astype(float)
    bad = (t != "") & num.isna()
    written_nan = bad & t.str.lower().str.lstrip("+-").eq("nan")
    if written_nan.any():
        refuse(written_nan, column, f"'{values[written_nan].iloc[0]}' is not a finite number")
    if bad.any():
        refuse(bad, column, f"'{values[bad].iloc[0]}' is not a number")
    inf = ~np.isfinite(num) & num.notna()
    if inf.any():
        refuse(inf, column, f"'{values[inf].iloc[0]}' is not a finite number")
    return num


def _specs(t: pd.DataFrame, declared: dict[str, dict]) -> dict[str, tuple[str, int]]:
    """question -> (kind, scale): declared by the study, else as the table says (one kind/scale each)."""
    out = {}
    scale_col = text(t["question_scale"]) if "question_scale" in t else pd.Series("", index=t.index)
    for key, idx in t.groupby("question", sort=False).groups.items():
        kinds = t.loc[idx, "question_kind"].unique()
        if key in declared:
            kind = declared[key]["kind"]
            wrong = t.index.isin(idx) & (t["question_kind"] != kind)
            if wrong.any():
                refuse(wrong, "question_kind", f"question '{key}' is declared {kind}")
        elif len(kinds) > 1:
            refuse(t.index.isin(idx) & (t["question_kind"] != kinds[0]), "question_kind", f"'{key}' has two kinds")
        else:
            kind = kinds[0]
        scale = 2
        if kind == "likert":
            scale = _likert_scale(t, idx, key, declared, scale_col)
        out[key] = (kind, scale)
    return out


def _likert_scale(t, idx, key, declared, scale_col) -> int:
    if key in declared and declared[key].get("scale"):
        return int(declared[key]["scale"])
    given = scale_col[idx]
    given = given[given != ""]
    if len(given):
        num = _numbers(given, "question_scale")
        if num.nunique() > 1 or not float(num.iloc[0]).is_integer() or num.iloc[0] < 2:
            refuse(t.index.isin(given.index), "question_scale", f"'{key}' needs one whole scale size of at least 2")
        return int(num.iloc[0])
    # No scale given anywhere: the largest answer, at least 5 (the paper's 1-5 scales).
    observed = pd.to_numeric(t.loc[idx, "value_numeric"], errors="coerce")
    return int(max(5, observed[np.isfinite(observed)].max() if np.isfinite(observed).any() else 5))


def _scale_values(t: pd.DataFrame, specs: dict[str, tuple[str, int]]) -> None:
    y = t["y"]
    for key, (kind, scale) in specs.items():
        if kind not in ANALYSED_KINDS:
            continue
        mine = (t["question"] == key) & y.notna()
        allowed = "0 (no) or 1 (yes)" if kind == "yes_no" else f"a whole number from 1 to {scale}"
        ok = y.isin([0.0, 1.0]) if kind == "yes_no" else y.isin(np.arange(1, scale + 1, dtype=float))
        bad = mine & ~ok
        if bad.any():
            shown = t.loc[bad, "value_numeric"].iloc[0]
            refuse(bad, "value_numeric", f"'{shown}' is outside question '{key}' ({kind}: {allowed})")


def check_tidy(tidy: pd.DataFrame, declared: list[dict] | None = None) -> tuple[pd.DataFrame, dict, int]:
    """The checked table (text ids, bool is_pie, float y, correlation, repeat_of), the question specs
    {key: (kind, scale)} and the number of identical duplicate answers dropped."""
    missing = [c for c in REQUIRED if c not in tidy.columns]
    if missing:
        raise PerceptionInputError(f"The answer table lacks the column(s) {', '.join(missing)}.")
    if len(tidy) == 0 and not declared:  # a study without answers is analysed: every entry "nobody answered"
        raise PerceptionInputError("The answer table has no rows: it needs at least one answer.")
    t = tidy.reset_index(drop=True).copy()
    for col in ("reader", "case_id", "question", "question_kind"):
        t[col] = text(t[col])
        if (t[col] == "").any():
            refuse(t[col] == "", col, "blank")
    t["is_pie"] = parse_flag(t["is_pie"], "is_pie")
    t["case"] = t["case_id"]
    t["simulated"] = parse_flag(t["simulated"], "simulated", blank_ok=True) if "simulated" in t else False
    t["repeat_of"] = text(t["repeat_of_case_id"]) if "repeat_of_case_id" in t else ""
    t["correlation"] = _numbers(t["correlation"], "correlation") if "correlation" in t else np.nan
    specs = _specs(t, {q["key"]: q for q in declared or []})
    analysed = t["question"].map(lambda k: specs[k][0] in ANALYSED_KINDS)
    t["y"] = np.nan
    t.loc[analysed, "y"] = _numbers(t.loc[analysed, "value_numeric"], "value_numeric").to_numpy()
    _scale_values(t, specs)
    flags = t[t["repeat_of"] == ""].groupby("case")["is_pie"].nunique()
    if (flags > 1).any():
        case = flags.index[flags > 1][0]
        refuse(t["case"] == case, "is_pie", f"case {case!r} is marked both PIE and non-PIE")
    return _duplicates(t, specs)


def _duplicates(t: pd.DataFrame, specs: dict) -> tuple[pd.DataFrame, dict, int]:
    answered = t[t["y"].notna()]
    key = ["reader", "case", "question", "repeat_of"]
    dup = answered.duplicated(key, keep=False)
    if dup.any():
        spread = answered[dup].groupby(key)["y"].transform("nunique")
        conflict = spread > 1
        if conflict.any():
            first = answered[dup][conflict].iloc[0]
            same = (t[key] == first[key]).all(axis=1) & t["y"].notna()
            refuse(same, "value_numeric", f"reader {first['reader']!r} answered {first['question']!r} on case "
                   f"{first['case']!r} more than once with different values")  # fmt: skip
    drop = answered.duplicated(key, keep="first")
    return t.drop(index=answered.index[drop]), specs, int(drop.sum())
