"""Reading sessions with a washout: a study's cases are read in one or more sessions; session k opens for a
reader only once `Study.washout_days` have passed since they finished session k-1.

Hidden repeats go into a later session than their originals (the FDA's reader-study guidance asks for weeks
between the two reads), so intra-reader agreement measures memory-free re-reading. A reader's order is their
presentation order sorted (stably) by session; `Assignment.session_starts` holds the 1-based position where
each session begins, so "which session is position p in" needs no query.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from readerstudy.errors import NotAllowedError, ReaderStudyError
from readerstudy.models import Assignment, Case, CaseReading, Study
from readerstudy.progress import completed_case_ids, position_after

MAX_SESSIONS = 6


def order_into_sessions(order: Sequence[int], session_of: Mapping[int, int]) -> tuple[list[int], list[int]]:
    """The order sorted stably by session, and the 1-based start position of each non-empty session."""
    ordered = sorted(order, key=lambda cid: session_of.get(cid, 1))
    starts, last = [], None
    for k, cid in enumerate(ordered, start=1):
        if session_of.get(cid, 1) != last:
            starts.append(k)
            last = session_of.get(cid, 1)
    return ordered, starts or [1]


def study_sessions_set(*, study: Study, sessions: int, washout_days: float) -> Study:
    """Split a draft study into `sessions` sessions: every original case in session 1, the hidden repeats
    dealt round-robin over sessions 2..n, and every reader's order re-sorted by session."""
    if study.status != Study.Status.DRAFT:
        raise NotAllowedError("Sessions can only change while the study is a draft.")
    if not 1 <= sessions <= MAX_SESSIONS:
        raise ReaderStudyError(f"Sessions must be from 1 to {MAX_SESSIONS} (got {sessions}).")
    if not 0 <= washout_days <= 365:
        raise ReaderStudyError(f"The washout must be from 0 to 365 days (got {washout_days}).")
    repeats = list(Case.objects.filter(study=study, repeat_of__isnull=False).order_by("id"))
    if sessions > 1 and len(repeats) < sessions - 1:
        raise ReaderStudyError(
            f"Sessions after the first hold the hidden repeats; this study has {len(repeats)}, too few for "
            f"{sessions} sessions. Build it with repeat cases."
        )
    with transaction.atomic():
        Case.objects.filter(study=study).update(session=1)
        for k, case in enumerate(repeats):
            case.session = 2 + k % (sessions - 1) if sessions > 1 else 1
        Case.objects.bulk_update(repeats, ["session"])
        Study.objects.filter(pk=study.pk).update(sessions=sessions, washout_days=washout_days)
        session_of = dict(Case.objects.filter(study=study).values_list("id", "session"))
        for a in Assignment.objects.filter(study=study):
            a.order, a.session_starts = order_into_sessions(a.order, session_of)
            a.save(update_fields=["order", "session_starts"])
    study.refresh_from_db()
    return study


@dataclass
class SessionGate:
    session: int  # the session the reader is in (or waiting for)
    locked_from: int | None  # first position that is not open yet (None: everything reached is open)
    opens_at: datetime | None  # when it opens


def session_of_position(assignment: Assignment, position: int) -> int:
    starts = assignment.session_starts or [1]
    return sum(1 for s in starts if s <= position)


def session_gate(assignment: Assignment, current: int, now: datetime | None = None) -> SessionGate:
    """Which session the reader's first unfinished position `current` is in, and whether it is still closed
    by the washout (one query, only once the reader has finished a session)."""
    starts = assignment.session_starts or [1]
    session = session_of_position(assignment, current)
    if session < 2 or assignment.study.sessions < 2 or current > len(assignment.order):
        return SessionGate(session, None, None)
    start, before = starts[session - 1], starts[session - 2]
    previous = assignment.order[before - 1 : start - 1]
    finished = CaseReading.objects.filter(assignment=assignment, case_id__in=previous).aggregate(t=Max("completed_at"))[
        "t"
    ]
    if finished is None:
        return SessionGate(session, start, None)
    opens = finished + timedelta(days=assignment.study.washout_days)
    if (now or timezone.now()) >= opens:
        return SessionGate(session, None, None)
    return SessionGate(session, start, opens)


def study_washout_waits(*, study: Study) -> dict[int, SessionGate]:
    """Assignment id -> its gate, for the readers now waiting on their washout (the dashboard's list)."""
    out = {}
    if study.sessions < 2:
        return out
    for a in Assignment.objects.filter(study=study).select_related("study"):
        current = position_after(a.order, completed_case_ids(a))
        gate = session_gate(a, current)
        if gate.opens_at is not None:
            out[a.pk] = gate
    return out
