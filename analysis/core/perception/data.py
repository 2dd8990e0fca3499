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

from analysis.core.perception.checks import ANALYSED_KINDS, PerceptionInputError, check_tidy

__all__ = [
    "PerceptionInputError", "PerceptionInput", "QuestionSpec", "prepare", "answer_matrix", "case_key", "not_estimable"
]  # fmt: skip

UNABLE = "unable_to_assess"  # the export's value of an "unable to assess" answer (no value_numeric)
GROUPS = ("PIE", "non-PIE")


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


def prepare(tidy: pd.DataFrame, questions: list[dict] | None = None) -> PerceptionInput:
    """Check the tidy table strictly (``checks.check_tidy``) and split it into answers and repeat pairs.

    Unanswered rows (empty ``value_numeric``) are dropped; an identical second copy of an answer is dropped
    and counted in ``duplicates_dropped``. ``questions`` (key, text, kind, scale) lists the study's
    questions, so that one nobody answered still gets its "not estimable" entries, and declares each
    question's kind and scale (answers outside it are refused).
    """
    t, kinds, dropped = check_tidy(tidy, questions)
    declared = {q["key"]: q for q in questions or []}
    texts = t.groupby("question", sort=False)["question_text"].first() if "question_text" in t else {}
    specs, skipped = [], {}
    for key in [*declared, *(k for k in kinds if k not in declared)]:
        kind, scale = kinds[key] if key in kinds else (declared[key]["kind"], int(declared[key].get("scale") or 2))
        if kind not in ANALYSED_KINDS:
            skipped[key] = f"{kind} answers are not analysed"
            continue
        text = declared[key].get("text", key) if key in declared else str(texts.get(key, key) or key)
        specs.append(QuestionSpec(key, text, kind, scale if kind == "likert" else 2))
    simulated = sorted(t.loc[t["simulated"], "reader"].unique())
    analysed = t["question"].isin([s.key for s in specs])
    unable = int((analysed & (t["value"].astype(str) == UNABLE)).sum()) if "value" in t else 0
    t = t[analysed & t["y"].notna()]
    main = t[t["repeat_of"] == ""]
    answers = main[["reader", "case", "is_pie", "question", "y", "correlation"]].reset_index(drop=True)
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
        duplicates_dropped=dropped,
        simulated_readers=simulated,
        unable=unable,
    )


def case_key(case: str) -> tuple:
    """Sort key for case ids: whole numbers by value (so "9" < "10" and ids shifted by an offset keep their
    order, as database ids of a re-imported study do), then any other text."""
    return (0, int(case), "") if case.isascii() and case.isdigit() else (1, 0, case)


def answer_matrix(rows: pd.DataFrame, readers: list[str], cases: list[str]) -> np.ndarray:
    """Readers x cases matrix of one question's answers, NaN where a reader did not read a case."""
    y = np.full((len(readers), len(cases)), np.nan)
    r = pd.Index(readers).get_indexer(rows["reader"])
    c = pd.Index(cases).get_indexer(rows["case"])
    y[r, c] = rows["y"].to_numpy(dtype=float)
    return y
