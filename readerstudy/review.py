"""A finished reader's review of their own answers next to the reference labels, where the study allows it
(design["allow_review"], off by default; the study form's "Readers who finished may review ..." box).

Blinded like every reader page: each row is an allow-list (position, image token, the labels shown, the
reader's own answers, and the case's reference labels: hidden_truth["reference_labels"], the upload CSV's
`reference_labels` column, "|" or ";" separated). PIE status, source ids, correlations and every other hidden
field stay out, as do repeat markers: a hidden repeat is listed as the case it looked like.

Opening the review locks the reader's answers (Assignment.review_opened_at; answering.answer_place_check
refuses every later save), so nothing is changed after seeing the reference. It is opened by a POST, after
a page that says so: a GET never writes.
"""

import re
from typing import Any

from django.db.models import Q
from django.utils import timezone

from readerstudy.answering import UNABLE
from readerstudy.models import Answer, Assignment, Case, Question, Study

REFERENCE_KEY = "reference_labels"


def review_allowed(study: Study) -> bool:
    return bool((study.design or {}).get("allow_review"))


def reference_labels(case: Case) -> list[str] | None:
    """The case's reference labels, or None where the researchers gave none."""
    raw = (case.hidden_truth or {}).get(REFERENCE_KEY)
    if raw is None or raw == "":
        return None
    items = raw if isinstance(raw, list) else re.split(r"[|;]", str(raw))
    return [str(x).strip() for x in items if str(x).strip()]


def review_open(*, assignment: Assignment) -> None:
    """Lock the reader's answers from now on (the first opening counts; later ones change nothing)."""
    Assignment.objects.filter(Q(pk=assignment.pk) & Q(review_opened_at__isnull=True)).update(
        review_opened_at=timezone.now()
    )


def answer_text(question: Question, value: Any) -> str:
    """An answer as the reader gave it, in words."""
    if value is None or value == "":
        return "—"
    if value == UNABLE:
        return "Unable to assess"
    if question.kind == Question.Kind.LIKERT and isinstance(value, int) and 1 <= value <= question.scale:
        return f"{value} ({question.options[value - 1]})"
    if question.kind == Question.Kind.LABELS:
        named = list((value or {}).get("labels", [])) + (["a finding is missing"] if value.get("missing") else [])
        return ", ".join(named) if named else "—"
    return str(value).capitalize() if question.kind == Question.Kind.YES_NO else str(value)


def review_rows(*, assignment: Assignment) -> tuple[list[Question], list[dict[str, Any]]]:
    """The study's questions and one row per case of the reader's order (allow-listed fields only)."""
    questions = list(assignment.study.questions.all())
    cases = Case.objects.in_bulk(assignment.order)
    given: dict[tuple[int, int], Any] = {
        (case_id, question_id): value
        for case_id, question_id, value in Answer.objects.filter(assignment=assignment).values_list(
            "case_id", "question_id", "value"
        )
    }
    rows = []
    for position, case_id in enumerate(assignment.order, start=1):
        case = cases[case_id]
        rows.append(
            {
                "position": position,
                "token": case.token,
                "shown_labels": list(case.shown_labels),
                "answers": [answer_text(q, given.get((case_id, q.pk))) for q in questions],
                "reference_labels": reference_labels(case),
            }
        )
    return questions, rows
