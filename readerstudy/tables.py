"""The tidy tables researchers download and the perception statistics read: one row per answer
(`answers_tidy`) and one per flag (`case_flags`). Researchers only: the rows carry the hidden fields."""

from datetime import datetime
from typing import Any

from readerstudy.consent import study_profiles
from readerstudy.models import Answer, Case, CaseReading, Question, Study


def numeric_value(question: Question, value: Any) -> float | None:
    """yes = 1, no = 0; Likert points as numbers; choice = 1-based option index; text = None."""
    if question.kind == Question.Kind.YES_NO:
        return {"yes": 1, "no": 0}.get(value)
    if question.kind == Question.Kind.LIKERT:
        return value if isinstance(value, int) else None
    if question.kind == Question.Kind.CHOICE and value in question.options:
        return question.options.index(value) + 1
    return None


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


TIDY_COLUMNS = [
    "study_id", "study", "form", "reader", "case_id", "source_image_id", "is_pie", "correlation", "dataset",
    "is_anchor", "repeat_of_case_id", "question", "question_text", "question_kind", "value", "value_numeric",
    "position", "server_seconds", "client_active_seconds", "first_viewed_at", "answered_at", "updated_at",
    "n_changes", "case_completed_at", "shown_labels", "n_shown_diseases", "question_scale", "simulated",
    "order_seed",
]  # fmt: skip

NO_FINDING = "no finding"


def n_shown_diseases(labels: list) -> int:
    """Diseases among the labels shown to the reader ("No Finding" is not a disease)."""
    return sum(1 for label in labels if str(label).strip().lower() != NO_FINDING)


def answers_tidy(*, study: Study) -> list[dict[str, Any]]:
    """One row per answer, pandas-ready (`pd.DataFrame(rows)`): the shape the perception statistics read.

    Readers appear only by pseudonym. `value_numeric` is yes=1/no=0 or the Likert point; `position` is the
    1-based place the case had in that reader's stored order. Hidden ground truth (if any) adds
    `truth_<name>` columns. `shown_labels` is the list the reader saw, `n_shown_diseases` its count without
    "No Finding", `question_scale` the number of Likert points, `simulated` whether `simulate_readers`
    wrote the answer, `order_seed` the seed of the reader's presentation order. Rows are sorted by form,
    reader, position, question order.
    """
    answers = (
        Answer.objects.filter(case__study=study)
        .select_related("case", "question", "assignment", "assignment__form")
        .order_by()
    )
    readings = {(r.assignment_id, r.case_id): r for r in CaseReading.objects.filter(assignment__study=study)}
    positions: dict[int, dict[int, int]] = {}
    truth_keys = sorted({k for c in Case.objects.filter(study=study) for k in c.hidden_truth})
    # The reader's consent and profile (readerstudy.consent), by pseudonym: consent_version, consented_at and
    # profile_<field>; empty for a reader without one. Practice answers are not Answer rows, so none is here.
    profiles = study_profiles(study=study)
    profile_keys = sorted({k for p in profiles.values() for k in p})
    rows = []
    for a in answers:
        asg, case, q = a.assignment, a.case, a.question
        pos = positions.setdefault(asg.pk, {cid: k for k, cid in enumerate(asg.order, start=1)})
        reading = readings.get((asg.pk, case.pk))
        row = {
            "study_id": study.pk,
            "study": study.title,
            "form": asg.form.number,
            "reader": asg.pseudonym,
            "case_id": case.pk,
            "source_image_id": case.source_image_id,
            "is_pie": case.is_pie,
            "correlation": case.correlation,
            "dataset": case.dataset,
            "is_anchor": case.is_anchor,
            "repeat_of_case_id": case.repeat_of_id,
            "question": q.key,
            "question_text": q.text,
            "question_kind": q.kind,
            "value": a.value,
            "value_numeric": numeric_value(q, a.value),
            "position": pos.get(case.pk),
            "server_seconds": round(reading.server_seconds, 3) if reading else None,
            "client_active_seconds": round(reading.client_active_seconds, 3) if reading else None,
            "first_viewed_at": _iso(reading.first_viewed_at) if reading else None,
            "answered_at": _iso(a.created_at),
            "updated_at": _iso(a.updated_at),
            "n_changes": max(0, len(a.history) - 1),
            "case_completed_at": _iso(reading.completed_at) if reading else None,
            "shown_labels": list(case.shown_labels),
            "n_shown_diseases": n_shown_diseases(case.shown_labels),
            "question_scale": q.scale or None,
            "simulated": a.simulated,
            "order_seed": asg.seed,
            "_order": q.order,
        }
        row.update({f"truth_{k}": case.hidden_truth.get(k) for k in truth_keys})
        row.update({k: profiles.get(asg.pseudonym, {}).get(k) for k in profile_keys})
        rows.append(row)
    rows.sort(key=lambda r: (r["form"], r["reader"], r["position"] or 0, r.pop("_order")))
    return rows


def profile_columns(rows: list[dict[str, Any]]) -> list[str]:
    """The consent and profile columns present in tidy rows (after TIDY_COLUMNS and the truth_ columns)."""
    keys = {k for r in rows for k in r if k.startswith("profile_")}
    consent = [k for k in ("consent_version", "consented_at") if any(k in r for r in rows)]
    return consent + sorted(keys)


FLAG_COLUMNS = [
    "study_id", "reader", "form", "position", "case_id", "source_image_id", "is_pie", "comment", "flagged_at",
]  # fmt: skip


def case_flags(*, study: Study) -> list[dict[str, Any]]:
    """Every flag readers raised (researchers only: the rows carry the hidden PIE status)."""
    readings = (
        CaseReading.objects.filter(assignment__study=study, flagged=True)
        .select_related("assignment__form", "case")
        .order_by("assignment__pseudonym", "flagged_at")
    )
    return [
        {
            "study_id": study.pk,
            "reader": r.assignment.pseudonym,
            "form": r.assignment.form.number,
            "position": r.assignment.order.index(r.case_id) + 1 if r.case_id in r.assignment.order else None,
            "case_id": r.case_id,
            "source_image_id": r.case.source_image_id,
            "is_pie": r.case.is_pie,
            "comment": r.flag_comment,
            "flagged_at": r.flagged_at.isoformat() if r.flagged_at else None,
        }
        for r in readings
    ]
