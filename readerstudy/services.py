"""Writes. Views, API views and management commands all go through these functions.

Answers are validated in exactly one place (`clean_value`, called only from `answers_submit`), and every
write for one reader in one study runs under a row lock on their assignment, so concurrent saves are
serialised: no duplicate answers (also a database constraint) and no lost updates.
"""

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from config.roles import is_reader
from readerstudy.builder import (  # noqa: F401  (re-exported: the study builders are services too)
    DEFAULT_QUESTIONS,
    Candidate,
    study_create_from_candidates,
    study_create_from_upload,
)
from readerstudy.design import presentation_order
from readerstudy.models import Answer, Assignment, Case, CaseReading, Form, Question, Study

# A gap between two events on a case longer than this counts as this much (the reader walked away).
MAX_EVENT_GAP = timedelta(minutes=10)
MAX_TEXT = 5000


class ReaderStudyError(ValueError):
    """Bad input or a forbidden action; `status` is the HTTP status views answer with."""

    status = 400

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotAssignedError(ReaderStudyError):
    status = 403


class StudyNotOpenError(ReaderStudyError):
    status = 409


class NotAllowedError(ReaderStudyError):
    status = 409


class QuestionLockedError(ReaderStudyError):
    status = 409


# --- studies and questions ------------------------------------------------------------------------


def study_open(*, study: Study) -> Study:
    if not study.questions.exists() or not Form.objects.filter(study=study, cases__isnull=False).exists():
        raise NotAllowedError(f"Study '{study.title}' needs questions and cases before it can open.")
    Study.objects.filter(pk=study.pk).update(status=Study.Status.OPEN)
    study.refresh_from_db()
    return study


def study_close(*, study: Study) -> Study:
    Study.objects.filter(pk=study.pk).update(status=Study.Status.CLOSED)
    study.refresh_from_db()
    return study


def question_update(*, question: Question, **fields: Any) -> Question:
    """Change a question; refused once anyone has answered it (answers must keep their meaning)."""
    if question.answers.exists():
        raise QuestionLockedError(f"Question '{question.text}' already has answers and can no longer change.")
    for name, value in fields.items():
        setattr(question, name, value)
    question.full_clean()
    question.save()
    return question


# --- assignments ----------------------------------------------------------------------------------


def assignment_create(
    *, study: Study, reader: AbstractBaseUser, form: Form | None = None, seed: int | None = None
) -> Assignment:
    """Give `reader` a form of `study` (the least-read one unless named) in their own stored random order."""
    if not is_reader(reader):
        raise ReaderStudyError(f"User '{reader.get_username()}' is not in the readers group.")
    with transaction.atomic():
        Study.objects.select_for_update().get(pk=study.pk)  # pseudonyms and form choice are per-study counters
        if Assignment.objects.filter(study=study, reader=reader).exists():
            raise ReaderStudyError(f"User '{reader.get_username()}' already reads a form of '{study.title}'.")
        if form is None:
            forms = list(study.forms.all())
            if not forms:
                raise ReaderStudyError(f"Study '{study.title}' has no forms.")
            form = min(forms, key=lambda f: (f.assignments.count(), f.number))
        # One more than the highest pseudonym so far (not the count: a reader removed from a draft leaves a gap).
        taken = Assignment.objects.filter(study=study).values_list("pseudonym", flat=True)
        n = max((int(p[1:]) for p in taken if p[1:].isdigit()), default=0) + 1
        pseudonym = f"R{n:02d}"
        if seed is None:
            # Derived from the study seed, so rebuilding the same study gives every reader the same order.
            seed = random.Random(f"{study.design.get('seed', 0)}:{pseudonym}").randrange(2**62)
        cases = list(Case.objects.filter(forms=form).values_list("id", "is_pie", "repeat_of_id"))
        order = presentation_order(
            [c[0] for c in cases],
            seed,
            is_pie={c[0]: c[1] for c in cases},
            repeat_of={c[0]: c[2] for c in cases if c[2]},
        )
        return Assignment.objects.create(
            study=study, form=form, reader=reader, pseudonym=pseudonym, seed=seed, order=order
        )


def _locked_assignment(reader: AbstractBaseUser, case: Case) -> Assignment:
    assignment = (
        # of=self: lock only this reader's assignment row, not the study row every reader shares.
        Assignment.objects.select_for_update(of=("self",))
        .select_related("study")
        .filter(reader=reader, study_id=case.study_id, form__cases=case)
        .first()
    )
    if assignment is None or assignment.study.status == Study.Status.DRAFT:
        raise NotAssignedError("This case is not assigned to you.")
    return assignment


def first_incomplete_position(assignment: Assignment) -> int:
    """1-based position of the first case not yet finished; total + 1 when the form is done."""
    done = set(
        CaseReading.objects.filter(assignment=assignment, completed_at__isnull=False).values_list("case_id", flat=True)
    )
    for k, case_id in enumerate(assignment.order, start=1):
        if case_id not in done:
            return k
    return len(assignment.order) + 1


def case_view(*, assignment: Assignment, case: Case) -> CaseReading:
    """Record that the reader opened the case (first view, and the start of the server-side clock)."""
    now = timezone.now()
    with transaction.atomic():
        Assignment.objects.select_for_update().filter(pk=assignment.pk).first()
        reading, _ = CaseReading.objects.get_or_create(assignment=assignment, case=case)
        reading.first_viewed_at = reading.first_viewed_at or now
        reading.last_viewed_at = reading.last_event_at = now
        reading.save(update_fields=["first_viewed_at", "last_viewed_at", "last_event_at"])
        updates = {"last_activity_at": now}
        if assignment.started_at is None:
            updates["started_at"] = now
        Assignment.objects.filter(pk=assignment.pk).update(**updates)
    return reading


def case_flag(*, reader: AbstractBaseUser, case: Case, flagged: bool, comment: str = "") -> CaseReading:
    """Flag (or unflag) a case for the researchers, with an optional comment. Allowed while the study is open,
    on any case of the reader's own form (a flag is a note, not an answer, so finished cases may be flagged)."""
    comment = (comment or "").strip()
    if len(comment) > MAX_TEXT:
        raise ReaderStudyError(f"Keep the comment under {MAX_TEXT} characters (got {len(comment)}).")
    with transaction.atomic():
        assignment = _locked_assignment(reader, case)
        if assignment.study.status != Study.Status.OPEN:
            raise StudyNotOpenError(f"Study '{assignment.study.title}' is {assignment.study.status}.")
        reading, _ = CaseReading.objects.get_or_create(assignment=assignment, case=case)
        reading.flagged = bool(flagged)
        reading.flag_comment = comment if flagged else ""
        reading.flagged_at = timezone.now() if flagged else None
        reading.save(update_fields=["flagged", "flag_comment", "flagged_at"])
    return reading


# --- answers --------------------------------------------------------------------------------------

_INT = re.compile(r"^[+-]?\d+$")


def clean_value(question: Question, raw: Any) -> Any:
    """The one validator of answer values: returns the stored form or raises ValueError with a clear message."""
    kind = question.kind
    if kind == Question.Kind.TEXT:
        if raw is None:
            return ""
        if not isinstance(raw, str):
            raise ValueError("Enter text.")
        if len(raw) > MAX_TEXT:
            raise ValueError(f"Keep the text under {MAX_TEXT} characters (got {len(raw)}).")
        return raw.strip()
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValueError("This question needs an answer.")
    if kind == Question.Kind.YES_NO:
        if isinstance(raw, bool):
            return "yes" if raw else "no"
        if isinstance(raw, str) and raw.strip().lower() in ("yes", "no"):
            return raw.strip().lower()
        raise ValueError(f"Answer yes or no (got {raw!r}).")
    if kind == Question.Kind.LIKERT:
        k, anchors = question.scale, question.options
        scale = f"a whole number from 1 ({anchors[0]}) to {k} ({anchors[-1]})"
        if isinstance(raw, bool):
            raise ValueError(f"Enter {scale} (got {raw!r}).")
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, str) and _INT.match(raw.strip()):
            raw = int(raw.strip())
        if not isinstance(raw, int):
            raise ValueError(f"Enter {scale} (got {raw!r}).")
        if not 1 <= raw <= k:
            raise ValueError(f"Enter {scale} (got {raw}).")
        return raw
    if kind == Question.Kind.CHOICE:
        if isinstance(raw, str) and raw in question.options:
            return raw
        raise ValueError(f"Choose one of: {', '.join(question.options)} (got {raw!r}).")
    raise ValueError(f"Unknown question type {kind!r}.")


@dataclass
class SubmitResult:
    saved: dict[str, Any]  # question key -> stored value, for the keys submitted
    case_completed: bool
    position: int
    next_position: int | None  # where "save and next" goes; None when the form is done
    form_completed: bool


def answers_submit(
    *,
    reader: AbstractBaseUser,
    case: Case,
    values: Mapping[str, Any],
    complete: bool = False,
    client_active_ms: Any = 0,
) -> SubmitResult:
    """Save answers (question key -> value) of one reader to one case, all or nothing.

    `complete=True` is "save and next": every required question must then be answered (now or before) and
    the case is marked finished. Errors name the question; nothing is written when any value is bad.
    """
    with transaction.atomic():
        assignment = _locked_assignment(reader, case)
        study = assignment.study
        if study.status != Study.Status.OPEN:
            raise StudyNotOpenError(f"Study '{study.title}' is {study.status}; answers can no longer be saved.")
        position = assignment.order.index(case.id) + 1
        current = first_incomplete_position(assignment)
        if position > current:
            raise NotAllowedError(f"Finish case {current} of {assignment.total} first.")
        if position < current and not study.allow_back:
            raise NotAllowedError("Going back to earlier cases is not allowed in this study.")
        reading, _ = CaseReading.objects.get_or_create(assignment=assignment, case=case)
        if reading.completed_at and not study.allow_change and values:
            raise NotAllowedError("Answers to finished cases cannot be changed in this study.")

        questions = {q.key: q for q in study.questions.all()}
        errors: dict[str, str] = {}
        cleaned: dict[str, Any] = {}
        for key, raw in values.items():
            question = questions.get(str(key))
            if question is None:
                errors[str(key)] = f"Unknown question {key!r}."
                continue
            try:
                cleaned[question.key] = clean_value(question, raw)
            except ValueError as exc:
                errors[question.key] = str(exc)
        if complete:
            have = set(Answer.objects.filter(reader=reader, case=case).values_list("question__key", flat=True))
            for key, question in questions.items():
                if question.required and key not in have and key not in cleaned and key not in errors:
                    errors[key] = "This question needs an answer."
        try:
            active_s = max(0.0, float(client_active_ms or 0) / 1000.0)
        except (TypeError, ValueError):
            errors["active_ms"] = f"Active time must be a number of milliseconds (got {client_active_ms!r})."
            active_s = 0.0
        if errors:
            first = next(iter(errors))
            label = questions[first].text if first in questions else first
            raise ReaderStudyError(f"{label}: {errors[first]}", errors)

        now = timezone.now()
        for key, value in cleaned.items():
            answer, created = Answer.objects.select_for_update().get_or_create(
                reader=reader,
                case=case,
                question=questions[key],
                defaults={
                    "assignment": assignment,
                    "value": value,
                    "created_at": now,
                    "updated_at": now,
                    "history": [{"value": value, "at": now.isoformat()}],
                },
            )
            if not created and answer.value != value:
                answer.value = value
                answer.updated_at = now
                answer.history = [*answer.history, {"value": value, "at": now.isoformat()}]
                answer.save(update_fields=["value", "updated_at", "history"])

        gap = now - reading.last_event_at if reading.last_event_at else timedelta(0)
        gap = min(max(gap, timedelta(0)), MAX_EVENT_GAP)
        reading.server_seconds += gap.total_seconds()
        # The client cannot have been active longer than the (capped) time since its last event, plus slack.
        reading.client_active_seconds += min(active_s, gap.total_seconds() + 5.0)
        reading.last_event_at = now
        reading.first_viewed_at = reading.first_viewed_at or now
        if complete and reading.completed_at is None:
            reading.completed_at = now
        reading.save()

        next_current = first_incomplete_position(assignment) if complete else current
        form_done = next_current > assignment.total
        updates = {"last_activity_at": now, "started_at": assignment.started_at or now}
        if form_done and assignment.completed_at is None:
            updates["completed_at"] = now
        Assignment.objects.filter(pk=assignment.pk).update(**updates)

    if complete:
        nxt = position + 1 if position < next_current else next_current
        next_position = None if nxt > assignment.total else nxt
    else:
        next_position = None
    return SubmitResult(
        saved=cleaned,
        case_completed=reading.completed_at is not None,
        position=position,
        next_position=next_position,
        form_completed=form_done,
    )
