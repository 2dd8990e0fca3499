"""Writes. Views, API views and management commands all go through these functions.

Answers are validated in exactly one place (`clean_value`, called only from `answers_submit`), and every
write for one reader in one study runs under a row lock on their assignment, so concurrent saves are
serialised: no duplicate answers (also a database constraint) and no lost updates.
"""

import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import DateTimeField, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.roles import is_reader, is_researcher
from readerstudy.access import is_granted, readable_assignments
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
# The API refuses more active time per save than this (a day); the service clamps to the elapsed time anyway.
MAX_ACTIVE_MS = 24 * 3600 * 1000


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


class NotYoursError(ReaderStudyError):
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


def study_grant(*, study: Study, user: AbstractBaseUser) -> Study:
    """Make `user` a collaborator: they see the study's dashboard, hidden fields and exports."""
    if not is_researcher(user):
        raise ReaderStudyError(f"User '{user.get_username()}' is not in the researchers group.")
    if Assignment.objects.filter(study=study, reader=user).exists():
        raise ReaderStudyError(
            f"User '{user.get_username()}' reads '{study.title}' blinded and cannot also see its hidden fields."
        )
    study.collaborators.add(user)
    return study


def study_revoke(*, study: Study, user: AbstractBaseUser) -> Study:
    study.collaborators.remove(user)
    return study


# --- assignments ----------------------------------------------------------------------------------


def assignment_create(
    *, study: Study, reader: AbstractBaseUser, form: Form | None = None, seed: int | None = None
) -> Assignment:
    """Give `reader` a form of `study` (the least-read one unless named) in their own stored random order."""
    if not is_reader(reader):
        raise ReaderStudyError(f"User '{reader.get_username()}' is not in the readers group.")
    if is_granted(reader, study):
        # They could match the blinded case tokens of their reading page against the hidden fields.
        raise ReaderStudyError(
            f"User '{reader.get_username()}' is an admin, owner or collaborator of '{study.title}' and sees its "
            "hidden fields (PIE status, ground truth), so they cannot also read it blinded. Use a separate "
            "reader account."
        )
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
        readable_assignments(reader)
        .select_for_update(of=("self",))
        .select_related("study")
        .filter(study_id=case.study_id, form__cases=case)
        .first()
    )
    if assignment is None:
        raise NotAssignedError("This case is not assigned to you.")
    return assignment


def completed_case_ids(assignment: Assignment) -> set[int]:
    """Ids of the cases this reader has finished (one query; progress and positions derive from it)."""
    return set(
        CaseReading.objects.filter(assignment=assignment, completed_at__isnull=False).values_list("case_id", flat=True)
    )


def position_after(order: list[int], done: set[int]) -> int:
    """1-based position of the first case of `order` not in `done`; len(order) + 1 when all are done."""
    for k, case_id in enumerate(order, start=1):
        if case_id not in done:
            return k
    return len(order) + 1


def first_incomplete_position(assignment: Assignment) -> int:
    """1-based position of the first case not yet finished; total + 1 when the form is done."""
    return position_after(assignment.order, completed_case_ids(assignment))


def case_view(*, assignment: Assignment, case: Case) -> None:
    """Record that the reader has the case on screen (first view, and the start of the server-side clock).

    One upsert of the reading and one UPDATE of the assignment, and no lock on the assignment: a view never
    waits for that reader's saves (each statement waits only for a save holding the same row, then applies
    on top of it). An existing reading keeps its first view; a new one starts with it."""
    now = timezone.now()
    stamp = Value(now, output_field=DateTimeField())
    CaseReading.objects.bulk_create(
        [CaseReading(assignment=assignment, case=case, first_viewed_at=now, last_viewed_at=now, last_event_at=now)],
        update_conflicts=True,
        unique_fields=["assignment", "case"],
        update_fields=["last_viewed_at", "last_event_at"],
    )
    Assignment.objects.filter(pk=assignment.pk).update(last_activity_at=now, started_at=Coalesce("started_at", stamp))


def case_flag(*, reader: AbstractBaseUser, case: Case, flagged: bool, comment: str = "") -> CaseReading:
    """Flag (or unflag) a case for the researchers, with an optional comment. Allowed while the study is open,
    on any case of the reader's own form (a flag is a note, not an answer, so finished cases may be flagged)."""
    comment = (comment or "").strip()
    if len(comment) > MAX_TEXT:
        raise ReaderStudyError(f"Keep the comment under {MAX_TEXT} characters (got {len(comment)}).")
    if "\x00" in comment:
        raise ReaderStudyError("The comment contains a NUL character; remove it (PostgreSQL cannot store it).")
    with transaction.atomic():
        assignment = _locked_assignment(reader, case)
        if assignment.study.status != Study.Status.OPEN:
            raise StudyNotOpenError(f"Study '{assignment.study.title}' is {assignment.study.status}.")
        now = timezone.now()
        reading, _ = CaseReading.objects.get_or_create(assignment=assignment, case=case)
        reading.flagged = bool(flagged)
        reading.flag_comment = comment if flagged else ""
        reading.flagged_at = now if flagged else None
        # A reader flags only a case they have on screen: if the "viewed" POST has not landed yet (slow network,
        # flag pressed at once), the flag counts as the first view, so first-viewed and the clock are never empty.
        reading.first_viewed_at = reading.first_viewed_at or now
        reading.last_viewed_at = reading.last_viewed_at or now
        reading.last_event_at = reading.last_event_at or now
        fields = ["flagged", "flag_comment", "flagged_at", "first_viewed_at", "last_viewed_at", "last_event_at"]
        reading.save(update_fields=fields)
        stamp = Value(now, output_field=DateTimeField())
        Assignment.objects.filter(pk=assignment.pk).update(
            last_activity_at=now, started_at=Coalesce("started_at", stamp)
        )
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
        if "\x00" in raw:
            raise ValueError("The text contains a NUL character; remove it (PostgreSQL cannot store it).")
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
    # For the caller's next payload, so it needs no second look-up of either.
    assignment: Assignment | None = None
    done_case_ids: set[int] | None = None


def answers_submit(
    *,
    reader: AbstractBaseUser,
    case: Case,
    values: Mapping[str, Any],
    complete: bool = False,
    client_active_ms: Any = 0,
    assignment_id: int | None = None,
) -> SubmitResult:
    """Save answers (question key -> value) of one reader to one case, all or nothing.

    `complete=True` is "save and next": every required question must then be answered (now or before) and
    the case is marked finished. Errors name the question; nothing is written when any value is bad.
    `assignment_id` is the assignment the answers were given in (the browser sends it with every answer it
    queues): answers queued under another login on a shared computer are refused, never saved as this reader's.
    """
    with transaction.atomic():
        assignment = _locked_assignment(reader, case)
        if assignment_id is not None and assignment_id != assignment.pk:
            raise NotYoursError(
                "These answers were given under another reader's login on this computer; they were not saved."
            )
        study = assignment.study
        if study.status != Study.Status.OPEN:
            raise StudyNotOpenError(f"Study '{study.title}' is {study.status}; answers can no longer be saved.")
        position = assignment.order.index(case.id) + 1
        done = completed_case_ids(assignment)
        current = position_after(assignment.order, done)
        if position > current:
            raise NotAllowedError(f"Finish case {current} of {assignment.total} first.")
        if position < current and not study.allow_back:
            raise NotAllowedError("Going back to earlier cases is not allowed in this study.")
        # Locked: a concurrent "viewed" UPDATE of this row waits for this save, then applies on top of it.
        reading = CaseReading.objects.select_for_update().filter(assignment=assignment, case=case).first()
        if reading is None:
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
        # The reader's answers to this case so far, in one query (the assignment lock serialises their writes).
        by_question = {a.question_id: a for a in Answer.objects.filter(reader=reader, case=case)}
        if complete:
            have = {q.key for q in questions.values() if q.pk in by_question}
            for key, question in questions.items():
                if question.required and key not in have and key not in cleaned and key not in errors:
                    errors[key] = "This question needs an answer."
        try:
            active_s = max(0.0, float(client_active_ms or 0) / 1000.0)
            if math.isnan(active_s):
                raise ValueError
        except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
            errors["active_ms"] = (
                f"Active time must be a number of milliseconds from 0 to {MAX_ACTIVE_MS} "
                f"(got {str(client_active_ms)[:20]!r})."
            )
            active_s = 0.0
        if errors:
            first = next(iter(errors))
            label = questions[first].text if first in questions else first
            raise ReaderStudyError(f"{label}: {errors[first]}", errors)

        now = timezone.now()
        new, changed = [], []
        for key, value in cleaned.items():
            entry = {"value": value, "at": now.isoformat()}
            answer = by_question.get(questions[key].pk)
            if answer is None:
                new.append(
                    Answer(
                        reader=reader,
                        case=case,
                        question=questions[key],
                        assignment=assignment,
                        value=value,
                        created_at=now,
                        updated_at=now,
                        history=[entry],
                    )
                )
            elif answer.value != value:
                answer.value, answer.updated_at, answer.history = value, now, [*answer.history, entry]
                changed.append(answer)
        if new:
            Answer.objects.bulk_create(new)  # the unique constraint stays the last line of defence
        if changed:
            Answer.objects.bulk_update(changed, ["value", "updated_at", "history"])

        gap = now - reading.last_event_at if reading.last_event_at else timedelta(0)
        gap = min(max(gap, timedelta(0)), MAX_EVENT_GAP)
        reading.server_seconds += gap.total_seconds()
        # The client cannot have been active longer than the (capped) time since its last event, plus slack.
        reading.client_active_seconds += min(active_s, gap.total_seconds() + 5.0)
        reading.last_event_at = now
        reading.first_viewed_at = reading.first_viewed_at or now
        if complete and reading.completed_at is None:
            reading.completed_at = now
        reading.save(
            update_fields=[
                "server_seconds",
                "client_active_seconds",
                "last_event_at",
                "first_viewed_at",
                "completed_at",
            ]
        )

        if reading.completed_at is not None:
            done = done | {case.pk}
        next_current = position_after(assignment.order, done) if complete else current
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
        assignment=assignment,
        done_case_ids=done,
    )
