"""Writes. Views, API views and management commands all go through these functions.

Answers are validated in exactly one place (`answering.clean_value`, which `answers_submit` runs through
the steps in readerstudy.answering), and every write for one reader in one study runs under a row lock on
their assignment, so concurrent saves are serialised: no duplicate answers (also a database constraint) and
no lost updates.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import DateTimeField, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.roles import is_reader, is_researcher
from readerstudy import hotpath
from readerstudy.access import is_granted, readable_assignments
from readerstudy.answering import (
    MAX_TEXT,
    answer_place_check,
    answers_clean,
    answers_write,
    disagreement_clean,
    reading_clock_advance,
    reading_for_update,
)
from readerstudy.design import presentation_order
from readerstudy.errors import (
    NotAllowedError,
    NotAssignedError,
    QuestionLockedError,
    ReaderStudyError,
    StudyNotOpenError,
)
from readerstudy.models import Answer, Assignment, Case, CaseReading, Form, Question, Study
from readerstudy.progress import position_after
from readerstudy.selectors import ReaderProgress, reader_progress
from readerstudy.sessions import order_into_sessions

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


def assignment_check(*, study: Study, reader: AbstractBaseUser) -> None:
    """Raise ReaderStudyError unless `reader` may be given a form of `study` (forms and the admin call it in
    their clean(), so a refusal is a form error, never a 500)."""
    if is_researcher(reader):
        # Roles never mix: a researcher or admin can read PIE tables and hidden fields of other studies.
        raise ReaderStudyError(
            f"User '{reader.get_username()}' is a researcher or admin and sees hidden study data, so it cannot "
            "read any study blinded. Use a separate reader account."
        )
    if not is_reader(reader):
        raise ReaderStudyError(f"User '{reader.get_username()}' is not in the readers group.")
    if is_granted(reader, study):
        # They could match the blinded case tokens of their reading page against the hidden fields.
        raise ReaderStudyError(
            f"User '{reader.get_username()}' is an admin, owner or collaborator of '{study.title}' and sees its "
            "hidden fields (PIE status, ground truth), so they cannot also read it blinded. Use a separate "
            "reader account."
        )


def assignment_create(
    *, study: Study, reader: AbstractBaseUser, form: Form | None = None, seed: int | None = None
) -> Assignment:
    """Give `reader` a form of `study` (the least-read one unless named) in their own stored random order."""
    assignment_check(study=study, reader=reader)
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
        cases = list(Case.objects.filter(forms=form).values_list("id", "is_pie", "repeat_of_id", "session"))
        order = presentation_order(
            [c[0] for c in cases],
            seed,
            is_pie={c[0]: c[1] for c in cases},
            repeat_of={c[0]: c[2] for c in cases if c[2]},
        )
        order, starts = order_into_sessions(order, {c[0]: c[3] for c in cases})
        return Assignment.objects.create(
            study=study, form=form, reader=reader, pseudonym=pseudonym, seed=seed, order=order, session_starts=starts
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


def case_view(*, assignment: Assignment, case: Case) -> None:
    """Record that the reader has the case on screen (first view, and the start of the server-side clock).

    One UPDATE of the assignment, then one upsert of the reading, in one round trip (on PostgreSQL one implicit
    transaction). The assignment row comes first, as in a save (assignment lock, then reading rows): a view
    that meets a save of the same reader waits for it, then applies on top of it, and the two can never
    deadlock. An existing reading keeps its first view; a new one starts with it."""
    at = hotpath.db_time(timezone.now())
    batch = hotpath.Batch()
    batch.add(
        "UPDATE readerstudy_assignment SET last_activity_at = %s, started_at = COALESCE(started_at, %s) WHERE id = %s",
        [at, at, assignment.pk],
    )
    _case_view_add(batch, assignment_id=assignment.pk, case_id=case.pk, at=at)
    batch.run()


def _case_view_add(batch: hotpath.Batch, *, assignment_id: int, case_id: int, at: Any) -> None:
    batch.add(
        "INSERT INTO readerstudy_casereading (assignment_id, case_id, first_viewed_at, last_viewed_at, "
        "last_event_at, server_seconds, client_active_seconds, flagged, flag_comment) "
        "VALUES (%s, %s, %s, %s, %s, 0, 0, %s, '') ON CONFLICT (assignment_id, case_id) "
        "DO UPDATE SET last_viewed_at = EXCLUDED.last_viewed_at, last_event_at = EXCLUDED.last_event_at",
        [assignment_id, case_id, at, at, at, False],
    )


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
            raise StudyNotOpenError(f"Study '{assignment.study.reader_facing_title}' is {assignment.study.status}.")
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
    progress: ReaderProgress | None = None  # after "save and next" with a next case
    next_rows: list[tuple] | None = None  # with view_next: the next case's `hotpath.cases_shown` rows


def answers_submit(
    *,
    reader: AbstractBaseUser,
    case: Case,
    values: Mapping[str, Any],
    complete: bool = False,
    client_active_ms: Any = 0,
    assignment_id: int | None = None,
    view_next: bool = False,
) -> SubmitResult:
    """Save answers (question key -> value) of one reader to one case, all or nothing.

    `complete=True` ("save and next"): every required question must be answered (now or before); the case is
    marked finished. Errors name the question; nothing is written when any value is bad. `assignment_id`: the
    assignment the answers were given in (sent with each queued answer): answers queued under another login
    on a shared computer are refused. `view_next`: the next case is shown at once, so its "viewed" is
    recorded in the same transaction."""
    with hotpath.SaveTransaction() as tx:
        # The locked assignment, then what the save decides on, read under the lock (one round trip).
        state = hotpath.submit_state(reader=reader, token=case.token, tx=tx)
        if state is None or case.pk not in (None, state.case.pk):
            raise NotAssignedError("This case is not assigned to you.")
        assignment, case, questions = state.assignment, state.case if case.pk is None else case, state.questions
        shown_labels = state.case.shown_labels  # as stored, whatever the caller's Case object holds
        place = answer_place_check(assignment=assignment, case=case, assignment_id=assignment_id, done=state.done)
        reading = reading_for_update(assignment=assignment, case=case, changing=bool(values), row=state.reading)
        previous = {qid: Answer(pk=aid, value=v, history=h) for qid, (aid, v, h) in state.previous.items()}
        cleaned, active_s = answers_clean(
            questions=questions,
            values=values,
            answered=set(previous),
            complete=complete,
            client_active_ms=client_active_ms,
            shown_labels=shown_labels,
        )
        disagreement_clean(questions=questions, previous={q: a.value for q, a in previous.items()}, cleaned=cleaned)
        now = timezone.now()
        writes = hotpath.Batch()
        answers_write(
            reader=reader,
            case=case,
            assignment=assignment,
            questions=questions,
            previous=previous,
            cleaned=cleaned,
            now=now,
            batch=writes,
        )
        reading_clock_advance(reading=reading, now=now, active_s=active_s, complete=complete, batch=writes)
        done = place.done | {case.pk} if reading.completed_at is not None else place.done
        next_current = position_after(assignment.order, done) if complete else place.current
        form_done = next_current > assignment.total
        _assignment_activity_record(assignment=assignment, now=now, form_done=form_done, batch=writes)
        position, next_position, progress = place.position, None, None
        if complete:
            nxt = position + 1 if position < next_current else next_current
            next_position = None if nxt > assignment.total else nxt
        if next_position:
            progress = reader_progress(assignment=assignment, done_case_ids=done)
            if view_next and not progress.waiting:  # the next case is on screen once this save returns
                next_case = assignment.order[next_position - 1]
                _case_view_add(writes, assignment_id=assignment.pk, case_id=next_case, at=hotpath.db_time(now))
                # ... and its payload's rows are read in the same round trip, after the writes.
                ids = hotpath.shown_ids(assignment, next_position)
                hotpath.cases_shown_add(writes, assignment=assignment, case_ids=ids)
        results = tx.last(writes)  # every write of the save, and its COMMIT, in one round trip (PostgreSQL)
        next_rows = results[-1] if view_next and progress is not None and not progress.waiting else None

    return SubmitResult(
        saved=cleaned,
        case_completed=reading.completed_at is not None,
        position=position,
        next_position=next_position,
        form_completed=form_done,
        assignment=assignment,
        done_case_ids=done,
        progress=progress,
        next_rows=next_rows,
    )


def _assignment_activity_record(
    *, assignment: Assignment, now: datetime, form_done: bool, batch: hotpath.Batch
) -> None:
    """The reader's last activity (and first start); the form's completion when this save finished it."""
    at = hotpath.db_time(now)
    batch.add(
        "UPDATE readerstudy_assignment SET last_activity_at = %s, started_at = COALESCE(started_at, %s), "
        "completed_at = CASE WHEN %s THEN COALESCE(completed_at, %s) ELSE completed_at END WHERE id = %s",
        [at, at, form_done, at, assignment.pk],
    )
