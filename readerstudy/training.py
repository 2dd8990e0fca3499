"""The training block: practice cases read before the study's cases, each followed by the researcher's
reference answer. Practice cases and their answers live in their own tables (readerstudy.models), so no export,
statistic or simulation of the study's answers can include them."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from readerstudy.answering import clean_value
from readerstudy.dicom import store_case_file
from readerstudy.errors import NotAllowedError, ReaderStudyError
from readerstudy.models import Assignment, PracticeAnswer, PracticeCase, Study, new_token


def _clean_all(study: Study, raw: Mapping[str, Any], *, what: str) -> dict[str, Any]:
    """Every question's value through the one answer validator; required ones must be there."""
    cleaned, errors = {}, {}
    for q in study.questions.all():
        value = raw.get(q.key)
        if value in (None, "") and not q.required:
            continue
        try:
            cleaned[q.key] = clean_value(q, value)
        except ValueError as exc:
            errors[q.key] = f"{what}, {q.text}: {exc}"
    if errors:
        raise ReaderStudyError(next(iter(errors.values())), errors)
    return cleaned


def practice_case_add(
    *,
    study: Study,
    image: Path,
    reference: Mapping[str, Any],
    shown_labels: list[str] | None = None,
    explanation: str = "",
) -> PracticeCase:
    """Add a practice case (draft studies only): its image is re-encoded like any case image, and the
    reference answer checked against the study's questions."""
    if study.status != Study.Status.DRAFT:
        raise NotAllowedError("Practice cases can only be added while the study is a draft.")
    cleaned = _clean_all(study, reference, what="Reference answer")
    token = new_token()
    stored = store_case_file(Path(image), study.pk, token)
    with transaction.atomic():
        Study.objects.select_for_update().filter(pk=study.pk).first()
        last = PracticeCase.objects.filter(study=study).aggregate(m=Max("order"))["m"] or 0
        case = PracticeCase.objects.create(
            study=study,
            order=last + 1,
            token=token,
            image=stored.relpath,
            width=stored.width,
            height=stored.height,
            shown_labels=list(shown_labels or []),
            reference=cleaned,
            explanation=explanation.strip(),
        )
        Study.objects.filter(pk=study.pk).update(practice_count=last + 1)
    study.refresh_from_db()
    return case


def practice_next(assignment: Assignment) -> PracticeCase | None:
    """The first practice case the reader has not answered (None when they are through)."""
    answered = PracticeAnswer.objects.filter(assignment=assignment).values("practice_case_id")
    return PracticeCase.objects.filter(study=assignment.study_id).exclude(pk__in=answered).first()


def practice_submit(
    *, assignment: Assignment, practice_case: PracticeCase, values: Mapping[str, Any]
) -> PracticeAnswer:
    """Store the reader's practice answer (validated like a real one); after the last one the study opens."""
    if practice_case.study_id != assignment.study_id:
        raise NotAllowedError("This practice case belongs to another study.")
    cleaned = _clean_all(assignment.study, values, what="Your answer")
    now = timezone.now()
    with transaction.atomic():
        row, _ = PracticeAnswer.objects.update_or_create(
            assignment=assignment, practice_case=practice_case, defaults={"values": cleaned, "answered_at": now}
        )
        if practice_next(assignment) is None and assignment.practice_done_at is None:
            Assignment.objects.filter(pk=assignment.pk).update(practice_done_at=now)
            assignment.practice_done_at = now
    return row


def practice_feedback(answer: PracticeAnswer) -> list[dict[str, Any]]:
    """Per question: the reader's answer, the reference answer, and whether they agree."""
    case = answer.practice_case
    rows = []
    for q in case.study.questions.all():
        yours, reference = answer.values.get(q.key), case.reference.get(q.key)
        rows.append(
            {
                "question": q.text,
                "yours": "" if yours is None else yours,
                "reference": "" if reference is None else reference,
                "agrees": reference is not None and yours == reference,
            }
        )
    return rows
