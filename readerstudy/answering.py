"""The steps of saving a reader's answers (`services.answers_submit` runs them in order, under the
assignment's row lock): may this case be answered now, are the values valid, write them, advance the
case's clock. `clean_value` is the one validator of answer values (the VIA import uses it too).
"""

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from readerstudy.entry import ENTRY_STEP_MESSAGES, entry_step
from readerstudy.errors import NotAllowedError, NotYoursError, ReaderStudyError, StudyNotOpenError
from readerstudy.hotpath import Batch, as_datetime, db_time
from readerstudy.models import Answer, Assignment, Case, CaseReading, Question, Study
from readerstudy.progress import position_after
from readerstudy.sessions import session_gate

# A gap between two events on a case longer than this counts as this much (the reader walked away).
MAX_EVENT_GAP = timedelta(minutes=10)
MAX_TEXT = 5000
# The API refuses more active time per save than this (a day); the service clamps to the elapsed time anyway.
MAX_ACTIVE_MS = 24 * 3600 * 1000

_INT = re.compile(r"^[+-]?\d+$")
UNABLE = "unable_to_assess"  # the stored value of "unable to assess" (studies with design["allow_unable"])


def clean_value(question: Question, raw: Any, *, shown_labels: list[str] | None = None) -> Any:
    """The one validator of answer values: returns the stored form or raises ValueError with a clear message.
    `shown_labels`: the labels the reader was shown with the case (a labels answer may name only those)."""
    kind = question.kind
    if kind == Question.Kind.LABELS:
        return clean_labels(raw, shown_labels or [])
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
    if raw == UNABLE:
        # "Unable to assess": an answer, counted, but not a rating (exports give it no number).
        if not (question.study.design or {}).get("allow_unable"):
            raise ValueError("This study does not offer 'unable to assess'; choose an answer.")
        return UNABLE
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValueError("This question needs an answer.")
    if kind == Question.Kind.YES_NO:
        if isinstance(raw, bool):
            return "yes" if raw else "no"
        if isinstance(raw, str) and raw.strip().lower() in ("yes", "no"):
            return raw.strip().lower()
        raise ValueError(f"Answer yes or no (got {raw!r}).")
    if kind == Question.Kind.LIKERT:
        return _likert_value(question, raw)
    if kind == Question.Kind.CHOICE:
        if isinstance(raw, str) and raw in question.options:
            return raw
        raise ValueError(f"Choose one of: {', '.join(question.options)} (got {raw!r}).")
    raise ValueError(f"Unknown question type {kind!r}.")


def clean_labels(raw: Any, shown_labels: list[str]) -> dict[str, Any]:
    """{"labels": [...], "missing": bool}: shown labels the reader disagrees with, in the order shown, and
    whether a finding is missing. Only shown labels pass, and the message names nothing else (blinding)."""
    if raw is None or raw == "":
        raw = {}
    if isinstance(raw, list):
        raw = {"labels": raw}
    if not isinstance(raw, dict) or set(raw) - {"labels", "missing"}:
        raise ValueError('Send {"labels": [shown labels], "missing": true/false}.')
    labels, missing = raw.get("labels") or [], raw.get("missing", False)
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels) or not isinstance(missing, bool):
        raise ValueError('Send {"labels": [shown labels], "missing": true/false}.')
    unknown = [x for x in labels if x not in shown_labels]
    if unknown:
        raise ValueError(f"{unknown[0][:100]!r} is not a label shown with this case.")
    return {"labels": [x for x in shown_labels if x in labels], "missing": missing}


def disagreement_clean(*, questions: dict[str, Question], previous: dict[int, Any], cleaned: dict[str, Any]) -> None:
    """Labels disagreed with go with a "no" to their yes/no question: a labels answer is refused unless that
    answer is (now) "no", and an earlier one is emptied when the answer changes away from "no". `previous`
    maps question id -> the stored value."""
    for key, question in questions.items():
        if question.kind != Question.Kind.LABELS or not question.options or question.options[0] not in questions:
            continue
        agree = questions[question.options[0]]
        said = cleaned.get(agree.key, previous.get(agree.pk))
        given = cleaned.get(key, previous.get(question.pk))
        if said == "no" or not given or given == EMPTY_LABELS:
            continue
        if key in cleaned:
            raise ReaderStudyError(
                f'{question.text}: answer "no" to "{agree.text}" first.',
                {key: f'Name labels only after answering "no" to "{agree.text}".'},
            )
        cleaned[key] = dict(EMPTY_LABELS)  # the yes/no answer changed away from "no": nothing is disagreed with


EMPTY_LABELS: dict[str, Any] = {"labels": [], "missing": False}


def _likert_value(question: Question, raw: Any) -> int:
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


@dataclass
class Place:
    """Where the case sits in the reader's form when the save starts."""

    position: int  # 1-based position of the case in the reader's order
    done: set[int]  # ids of the cases finished before this save
    current: int  # first unfinished position


def answer_place_check(*, assignment: Assignment, case: Case, assignment_id: int | None, done: set[int]) -> Place:
    """Refuse answers from another login, to a study that is not open, or to a case the reader may not answer
    now (ahead of their first unfinished case, or behind it where going back is off). `done`: the ids of the
    cases the reader finished, read under the assignment's lock."""
    if assignment_id is not None and assignment_id != assignment.pk:
        raise NotYoursError(
            "These answers were given under another reader's login on this computer; they were not saved."
        )
    study = assignment.study
    if study.status != Study.Status.OPEN:
        title = study.reader_facing_title
        raise StudyNotOpenError(f"Study '{title}' is {study.status}; answers can no longer be saved.")
    step = entry_step(assignment)
    if step is not None:
        raise NotAllowedError(ENTRY_STEP_MESSAGES[step])
    if assignment.review_opened_at is not None:
        raise NotAllowedError("You have seen the reference labels, so your answers are locked.")
    position = assignment.order.index(case.id) + 1
    current = position_after(assignment.order, done)
    if study.sessions > 1:
        gate = session_gate(assignment, current)
        if gate.locked_from is not None and position >= gate.locked_from:
            raise NotAllowedError(f"Session {gate.session} is not open yet (washout of {study.washout_days:g} days).")
    if position > current:
        raise NotAllowedError(f"Finish case {current} of {assignment.total} first.")
    if position < current and not study.allow_back:
        raise NotAllowedError("Going back to earlier cases is not allowed in this study.")
    return Place(position=position, done=done, current=current)


def reading_for_update(*, assignment: Assignment, case: Case, changing: bool, row: tuple) -> CaseReading:
    """The reader's reading of the case, locked: a concurrent "viewed" UPDATE of this row waits for this save,
    then applies on top of it. Refused when `changing` a finished case where the study forbids it.

    `row`: the reading as the save's upsert returned it (`hotpath.submit_state`: created if missing, locked)."""
    rid, first, last, server_s, active_s, completed = row
    reading = CaseReading(pk=rid, assignment_id=assignment.pk, case_id=case.pk, server_seconds=server_s)
    reading.client_active_seconds = active_s
    reading.first_viewed_at, reading.last_event_at = as_datetime(first), as_datetime(last)
    reading.completed_at = as_datetime(completed)
    if reading.completed_at and not assignment.study.allow_change and changing:
        raise NotAllowedError("Answers to finished cases cannot be changed in this study.")
    return reading


def answers_clean(
    *,
    questions: dict[str, Question],
    values: Mapping[str, Any],
    answered: set[int],
    complete: bool,
    client_active_ms: Any,
    shown_labels: list[str] | None = None,
) -> tuple[dict[str, Any], float]:
    """Every value cleaned (question key -> stored value) and the client's active seconds, or one
    ReaderStudyError naming the first problem and carrying all of them (key -> message). `answered` holds the
    ids of the questions answered before: with `complete`, every other required question needs a value now."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key, raw in values.items():
        question = questions.get(str(key))
        if question is None:
            errors[str(key)] = f"Unknown question {key!r}."
            continue
        try:
            cleaned[question.key] = clean_value(question, raw, shown_labels=shown_labels)
        except ValueError as exc:
            errors[question.key] = str(exc)
    if complete:
        have = {q.key for q in questions.values() if q.pk in answered}
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
    return cleaned, active_s


def answers_write(
    *,
    reader: AbstractBaseUser,
    case: Case,
    assignment: Assignment,
    questions: dict[str, Question],
    previous: dict[int, Answer],
    cleaned: dict[str, Any],
    now: datetime,
    batch: Batch,
) -> None:
    """Create the new answers and update the changed ones (each keeps its history); `previous` maps question
    id -> the reader's earlier answer to this case. The statements join `batch` (run by the caller)."""
    new, changed = [], []
    for key, value in cleaned.items():
        entry = {"value": value, "at": now.isoformat()}
        answer = previous.get(questions[key].pk)
        if answer is None:
            new.append((questions[key].pk, json.dumps(value), json.dumps([entry])))
        elif answer.value != value:
            changed.append((json.dumps(value), json.dumps([*answer.history, entry]), answer.pk))
    at = db_time(now)
    if new:  # the unique constraint stays the last line of defence
        rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(new))
        params = [p for qid, v, h in new for p in (reader.pk, case.pk, qid, assignment.pk, v, at, at, h, False)]
        batch.add(
            "INSERT INTO readerstudy_answer (reader_id, case_id, question_id, assignment_id, value, created_at, "
            f"updated_at, history, simulated) VALUES {rows}",
            params,
        )
    for value, history, pk in changed:
        batch.add(
            "UPDATE readerstudy_answer SET value = %s, updated_at = %s, history = %s WHERE id = %s",
            [value, at, history, pk],
        )


def reading_clock_advance(
    *, reading: CaseReading, now: datetime, active_s: float, complete: bool, batch: Batch
) -> None:
    """Add the time since the case's last event (capped) to its server clock and the client's active time
    (no more than that gap plus slack), and mark the case finished on "save and next" (the UPDATE joins
    `batch`)."""
    gap = now - reading.last_event_at if reading.last_event_at else timedelta(0)
    gap = min(max(gap, timedelta(0)), MAX_EVENT_GAP)
    reading.server_seconds += gap.total_seconds()
    reading.client_active_seconds += min(active_s, gap.total_seconds() + 5.0)
    reading.last_event_at = now
    reading.first_viewed_at = reading.first_viewed_at or now
    if complete and reading.completed_at is None:
        reading.completed_at = now
    batch.add(
        "UPDATE readerstudy_casereading SET server_seconds = %s, client_active_seconds = %s, last_event_at = %s, "
        "first_viewed_at = %s, completed_at = %s WHERE id = %s",
        [
            reading.server_seconds,
            reading.client_active_seconds,
            db_time(now),
            db_time(reading.first_viewed_at),
            db_time(reading.completed_at) if reading.completed_at else None,
            reading.pk,
        ],
    )
