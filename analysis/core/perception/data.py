"""The perception statistics' input: the tidy answer table, checked and split once.

Input (one row per answer; the columns of ``readerstudy.tables.answers_tidy`` and its CSV export):

    reader          reader pseudonym (any hashable)
    case_id         case identifier
    is_pie          1/0, True/False, "1"/"0"
    question        question key (e.g. "agreement", "quality", "difficulty")
    question_kind   "yes_no" | "likert" | "choice" | "text" (only yes_no and likert are analysed)
    value_numeric   yes = 1, no = 0, Likert point; empty = unanswered
  optional:
    question_text, question_scale (Likert points, default: the largest observed value, at least 5),
    correlation (the case's PIE correlation), repeat_of_case_id (hidden repeats), simulated.

Hidden repeats (rows with ``repeat_of_case_id``) are kept out of every analysis except intra-reader
agreement, where each is paired with the same reader's answer to the original case. Anchor cases
(read by two or more readers) stay in every analysis; they also feed inter-reader agreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from common.errors import AppError

REQUIRED = ("reader", "case_id", "is_pie", "question", "question_kind", "value_numeric")
ANALYSED_KINDS = ("yes_no", "likert")
UNABLE = "unable_to_assess"  # the export's value of an "unable to assess" answer (no value_numeric)
GROUPS = ("PIE", "non-PIE")


class PerceptionInputError(AppError):
    """The table cannot be read at all (a required column missing, an unreadable PIE flag)."""


def not_estimable(reason: str) -> str:
    """The one wording of a statistic that cannot be computed: tables, JSON and pages show it as is."""
    return f"not estimable: {reason}"


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    text: str
    kind: str  # yes_no | likert
    scale: int  # number of Likert points; 2 for yes/no (values 0, 1)

    @property
    def values(self) -> list[int]:
        return [0, 1] if self.kind == "yes_no" else list(range(1, self.scale + 1))


@dataclass
class PerceptionInput:
    """Answers to analysed questions (repeats removed), the repeat pairs, and what was skipped."""

    answers: pd.DataFrame  # reader, case, is_pie (bool), question, y (float), correlation
    repeats: pd.DataFrame  # reader, question, first, repeat
    questions: list[QuestionSpec]
    skipped_questions: dict[str, str] = field(default_factory=dict)  # key -> reason
    duplicates_dropped: int = 0
    simulated_readers: list[str] = field(default_factory=list)
    unable: int = 0  # "unable to assess" answers to analysed questions: counted, left out of every model

    def of(self, key: str) -> pd.DataFrame:
        return self.answers[self.answers["question"] == key]

    @property
    def n_readers(self) -> int:
        return int(self.answers["reader"].nunique())

    @property
    def n_cases(self) -> int:
        return int(self.answers["case"].nunique())


_TRUE = {"1", "true", "yes", "t", "y", "1.0"}
_FALSE = {"0", "false", "no", "f", "n", "0.0", ""}


def parse_flag(values: pd.Series, name: str) -> pd.Series:
    """1/0, yes/no, true/false (any case) -> bool; anything else is an error naming the value."""
    text = values.map(lambda v: str(v).strip().lower() if not (isinstance(v, float) and np.isnan(v)) else "")
    bad = sorted(set(text[~text.isin(_TRUE | _FALSE)]))
    if bad:
        raise PerceptionInputError(f"Column {name!r} must be 1/0, yes/no or true/false (got {bad[:5]}).")
    return text.isin(_TRUE)


def _question_specs(tidy: pd.DataFrame) -> tuple[list[QuestionSpec], dict[str, str]]:
    specs, skipped = [], {}
    for key, rows in tidy.groupby("question", sort=False):
        kind = str(rows["question_kind"].iloc[0])
        text = str(rows["question_text"].iloc[0]) if "question_text" in rows else str(key)
        if kind not in ANALYSED_KINDS:
            skipped[str(key)] = f"{kind} answers are not analysed"
            continue
        scale = 2
        if kind == "likert":
            given = pd.to_numeric(rows.get("question_scale", pd.Series(dtype=float)), errors="coerce").dropna()
            observed = pd.to_numeric(rows["value_numeric"], errors="coerce").max()
            scale = int(given.iloc[0]) if len(given) else int(max(5, np.nan_to_num(observed)))
        specs.append(QuestionSpec(str(key), text, kind, scale))
    return specs, skipped


def _declared_specs(declared: list[dict], specs: list[QuestionSpec], skipped: dict[str, str]) -> list[QuestionSpec]:
    """The study's own questions first (so a question nobody answered is still listed), then any others."""
    out = []
    for q in declared:
        if q["kind"] not in ANALYSED_KINDS:
            skipped[q["key"]] = f"{q['kind']} answers are not analysed"
            continue
        out.append(QuestionSpec(q["key"], q.get("text", q["key"]), q["kind"], int(q.get("scale") or 2)))
    keys = {q.key for q in out} | set(skipped)
    return out + [s for s in specs if s.key not in keys]


def prepare(tidy: pd.DataFrame, questions: list[dict] | None = None) -> PerceptionInput:
    """Check the tidy table and split it into analysed answers and repeat pairs.

    Unanswered rows (empty ``value_numeric``) are dropped; a second answer by the same reader to the
    same case and question (impossible from the database, possible in an edited CSV) is dropped and
    counted in ``duplicates_dropped``. ``questions`` (key, text, kind, scale) lists the study's questions,
    so that one nobody answered still gets its "not estimable" entries.
    """
    missing = [c for c in REQUIRED if c not in tidy.columns]
    if missing:
        raise PerceptionInputError(f"The answer table lacks the column(s) {', '.join(missing)}.")
    t = tidy.copy()
    t["is_pie"] = parse_flag(t["is_pie"], "is_pie")
    t["y"] = pd.to_numeric(t["value_numeric"], errors="coerce")
    t["reader"] = t["reader"].astype(str)
    t["case"] = t["case_id"].astype(str)
    repeat_of = t["repeat_of_case_id"] if "repeat_of_case_id" in t else pd.Series(np.nan, index=t.index)
    t["repeat_of"] = repeat_of.map(lambda v: "" if pd.isna(v) or v == "" else str(int(float(v))))
    t["correlation"] = pd.to_numeric(t["correlation"], errors="coerce") if "correlation" in t else np.nan
    simulated = []
    if "simulated" in t:
        flags = parse_flag(t["simulated"], "simulated")
        simulated = sorted(t.loc[flags, "reader"].unique())
    specs, skipped = _question_specs(t)
    if questions:
        specs = _declared_specs(questions, specs, skipped)
    keys = [s.key for s in specs]
    analysed = t["question"].astype(str).isin(keys)
    unable = int((analysed & (t["value"].astype(str) == UNABLE)).sum()) if "value" in t else 0
    t = t[analysed & t["y"].notna()]
    t = t.assign(question=t["question"].astype(str))

    main = t[t["repeat_of"] == ""]
    before = len(main)
    main = main.drop_duplicates(["reader", "case", "question"], keep="first")
    cols = ["reader", "case", "is_pie", "question", "y", "correlation"]
    answers = main[cols].reset_index(drop=True)

    rep = t[t["repeat_of"] != ""][["reader", "repeat_of", "question", "y"]].rename(
        columns={"repeat_of": "case", "y": "repeat"}
    )
    first = answers[["reader", "case", "question", "y"]].rename(columns={"y": "first"})
    repeats = rep.merge(first, on=["reader", "case", "question"], how="inner")[
        ["reader", "case", "question", "first", "repeat"]
    ]
    return PerceptionInput(
        answers=answers,
        repeats=repeats.reset_index(drop=True),
        questions=specs,
        skipped_questions=skipped,
        duplicates_dropped=before - len(main),
        simulated_readers=simulated,
        unable=unable,
    )


def answer_matrix(rows: pd.DataFrame, readers: list[str], cases: list[str]) -> np.ndarray:
    """Readers x cases matrix of one question's answers, NaN where a reader did not read a case."""
    y = np.full((len(readers), len(cases)), np.nan)
    r = pd.Index(readers).get_indexer(rows["reader"])
    c = pd.Index(cases).get_indexer(rows["case"])
    y[r, c] = rows["y"].to_numpy(dtype=float)
    return y
