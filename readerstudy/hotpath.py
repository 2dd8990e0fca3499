"""The reader hot path in plain SQL (issue 22): next case, "viewed", autosave, save & next and the image.

A profile of these requests showed most of their CPU in building ORM queries (about 9 per request), not in
running them. So the statements here are written once and only re-bound per request. The access rule is not
restated: `access_sql` compiles `readable_assignments` (readerstudy.access, the one definition of who may
read what) once per process for a placeholder user and re-binds the user id, so a change of the rule reaches
the hot path unchanged. It must stay one query whose only per-user input is the user's id (admins are refused
in Python first, as `readable_assignments` does).

Writes keep every guarantee of the ORM path: the submit takes the reader's assignment row lock (FOR UPDATE,
PostgreSQL) before it reads anything it decides on, the reading row is locked by an upsert, and the
(reader, case, question) unique constraint stays the last line of defence.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.roles import is_admin
from readerstudy.models import Assignment, Case, Question, Study

_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1
_USER = -7_000_000_001  # placeholder user id, re-bound per request
_A = "readerstudy_assignment"
_S = "readerstudy_study"


@cache
def access_sql(vendor: str) -> tuple[str, tuple[Any, ...]]:
    """(SQL selecting the ids of the assignments a placeholder user may read, its parameters)."""
    from readerstudy.access import readable_assignments

    user = get_user_model()(pk=_USER, is_staff=False, is_superuser=False, is_active=True)
    sql, params = readable_assignments(user).order_by().values("id").query.sql_with_params()
    return sql, tuple(params)


def _access(user: AbstractBaseUser) -> tuple[str, list[Any]]:
    sql, params = access_sql(connection.vendor)
    return sql, [user.pk if p == _USER else p for p in params]


def as_datetime(value: Any) -> datetime | None:
    """A timestamp from a raw row (PostgreSQL gives datetimes, SQLite may give text), always aware."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def db_time(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


# The assignment and study fields the reading flow decides on (access, navigation, the reading protocol).
_COLS = (
    'a.id, a.form_id, a."order", a.consent_version, a.practice_done_at, a.session_starts, a.review_opened_at, '
    "s.id, s.title, s.reader_title, s.status, s.allow_back, s.allow_change, s.design, s.consent_version, "
    "s.practice_count, s.sessions, s.washout_days"
)
_N = 18  # columns in _COLS: a query's own columns follow


def _datetime(value: Any) -> datetime | None:
    """A timestamp as the database driver returns it (SQLite: text) as an aware datetime."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(value)
    return parsed if parsed is None or timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def _assignment(row: tuple, reader: AbstractBaseUser) -> Assignment:
    """An Assignment with its Study attached, from the first columns of a row (`_COLS`)."""
    aid, form_id, order, a_consent, practice_done, starts, review_opened = row[:7]
    sid, title, reader_title, status, back, change, design, s_consent, practice, sessions, washout = row[7:_N]
    study = Study(
        pk=sid,
        title=title,
        reader_title=reader_title,
        status=status,
        allow_back=bool(back),
        allow_change=bool(change),
        design=_json(design) or {},
        consent_version=s_consent,
        practice_count=practice,
        sessions=sessions,
        washout_days=washout,
    )
    assignment = Assignment(
        pk=aid,
        study_id=sid,
        form_id=form_id,
        reader_id=reader.pk,
        order=_json(order),
        consent_version=a_consent,
        practice_done_at=_datetime(practice_done),
        session_starts=_json(starts) or [],
        review_opened_at=_datetime(review_opened),
    )
    assignment.study = study
    return assignment


def reader_state(*, reader: AbstractBaseUser, study_id: int) -> tuple[Assignment, set[int]] | None:
    """The reader's assignment in a study (if they may read it now) and the ids of the cases they finished,
    in one query: one row per finished case (one with a NULL case when none is)."""
    if not reader.is_authenticated or is_admin(reader) or not _BIGINT_MIN <= study_id <= _BIGINT_MAX:
        return None  # an id no row can have (the ORM's lookups answer "none" for those too)
    access, params = _access(reader)
    sql = (
        f"SELECT {_COLS}, r.case_id FROM {_A} a JOIN {_S} s ON s.id = a.study_id "
        "LEFT JOIN readerstudy_casereading r ON r.assignment_id = a.id AND r.completed_at IS NOT NULL "
        f"WHERE a.study_id = %s AND a.id IN ({access})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [study_id, *params])
        rows = cursor.fetchall()
    if not rows:
        return None
    return _assignment(rows[0], reader), {r[_N] for r in rows if r[_N] is not None}


class Batch:
    """Statements sent in one round trip where the database allows it, with each one's rows in order (an empty
    list for a statement that returns none). On PostgreSQL with client-side binding (Django's default) the
    statements go as one simple-protocol query; each still runs as its own statement, so under READ COMMITTED
    a statement after a row lock reads what was committed before the lock was granted. Elsewhere (SQLite,
    server-side binding) they run one by one. The round trips, not the statements, cost the CPU here."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, list[Any]]] = []
        self.begin = self.commit = False  # set by SaveTransaction: BEGIN before, COMMIT after (one trip only)

    def add(self, sql: str, params: list[Any]) -> None:
        self.statements.append((sql, params))

    def run(self) -> list[list[tuple]]:
        if not self.statements:
            return []
        with connection.cursor() as cursor:
            if not one_trip():
                return [_rows(cursor, sql, params) for sql, params in self.statements]
            sql = ";\n".join(["BEGIN"] * self.begin + [sql for sql, _ in self.statements] + ["COMMIT"] * self.commit)
            cursor.execute(sql, [p for _, ps in self.statements for p in ps])
            out = [cursor.fetchall() if cursor.description else []]
            while cursor.nextset():
                out.append(cursor.fetchall() if cursor.description else [])
            return out[self.begin : len(out) - self.commit]


def one_trip() -> bool:
    """Several statements in one execute: PostgreSQL with client-side binding (Django's default)."""
    return connection.vendor == "postgresql" and not connection.settings_dict["OPTIONS"].get("server_side_binding")


class SaveTransaction:
    """The transaction of a save. In a request on PostgreSQL (autocommit, no atomic block around), BEGIN goes
    with the save's first batch and COMMIT with its last (`first`, `last`), so the transaction costs no round
    trip of its own (transaction.atomic() costs two, BEGIN and COMMIT, and most of its CPU); an exception
    anywhere in between, or a failed batch, rolls back. Elsewhere, or inside an atomic block (tests, imports),
    it is transaction.atomic(). No ORM transaction may start in between (nothing on the save's path does)."""

    def __enter__(self) -> "SaveTransaction":
        self.inline = one_trip() and connection.get_autocommit() and not connection.in_atomic_block
        self.committed = False
        if not self.inline:
            self._atomic = transaction.atomic()
            self._atomic.__enter__()
        return self

    def first(self, batch: Batch) -> Batch:
        batch.begin = self.inline
        return batch

    def last(self, batch: Batch) -> list[list[tuple]]:
        batch.commit = self.inline
        rows = batch.run()
        self.committed = self.inline
        return rows

    def __exit__(self, exc_type, exc, tb) -> bool:
        if not self.inline:
            return bool(self._atomic.__exit__(exc_type, exc, tb))
        if not self.committed:  # an exception, or a batch that failed part way: nothing of the save stays
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
        return False


def _rows(cursor: Any, sql: str, params: list[Any]) -> list[tuple]:
    cursor.execute(sql, params)
    return cursor.fetchall() if cursor.description else []


@dataclass
class SubmitState:
    """What a save decides on, read in one round trip (`submit_state`)."""

    assignment: Assignment
    case: Case
    done: set[int]  # ids of the cases the reader had finished
    reading: tuple  # the reader's reading of the case, created if missing and locked (`_READING_UPSERT`)
    questions: dict[str, Question]  # the study's questions by key
    previous: dict[int, tuple[int, Any, list]]  # question id -> (answer id, value, history) of the reader's answers


# The reading of the case by the reader's assignment in the case's study (rs_assignment_reader_unique: one),
# created if missing; on a conflict it "updates" the row to itself, which takes the row lock on PostgreSQL and
# returns the row as it is now. It can run before access is known: a refused save rolls back.
_READING_UPSERT = (
    "INSERT INTO readerstudy_casereading (assignment_id, case_id, server_seconds, client_active_seconds, flagged, "
    f"flag_comment) SELECT a.id, c.id, 0, 0, %s, '' FROM readerstudy_case c JOIN {_A} a ON a.study_id = c.study_id "
    "WHERE c.token = %s AND a.reader_id = %s ON CONFLICT (assignment_id, case_id) DO UPDATE SET case_id = "
    "EXCLUDED.case_id RETURNING id, first_viewed_at, last_event_at, server_seconds, client_active_seconds, "
    "completed_at"
)


def submit_state(*, reader: AbstractBaseUser, token: str, tx: SaveTransaction) -> SubmitState | None:
    """For a save (inside its transaction): the reader's assignment holding the case behind `token`, locked
    first (FOR UPDATE on PostgreSQL: a reader's saves in one study run one at a time), then, read after the
    lock, the cases they finished, the study's questions with their answers to the case, and their reading
    of the case (locked). One round trip on PostgreSQL (with the BEGIN of `tx`). None when the case is not
    theirs to read."""
    if not reader.is_authenticated or is_admin(reader):
        return None
    access, params = _access(reader)
    lock = " FOR UPDATE OF a" if connection.features.has_select_for_update_of else ""
    batch = tx.first(Batch())
    batch.add(
        f"SELECT {_COLS}, c.id, c.shown_labels FROM readerstudy_case c JOIN {_A} a ON a.study_id = c.study_id "
        f"JOIN {_S} s ON s.id = a.study_id "
        "WHERE c.token = %s AND EXISTS (SELECT 1 FROM readerstudy_formcase fc "
        "WHERE fc.form_id = a.form_id AND fc.case_id = c.id) "
        f"AND a.id IN ({access}){lock}",
        [token, *params],
    )
    batch.add(
        f"SELECT r.case_id FROM readerstudy_casereading r JOIN {_A} a ON a.id = r.assignment_id "
        "JOIN readerstudy_case c ON c.study_id = a.study_id "
        "WHERE c.token = %s AND a.reader_id = %s AND r.completed_at IS NOT NULL",
        [token, reader.pk],
    )
    batch.add(
        "SELECT q.id, q.key, q.text, q.kind, q.required, q.options, an.id, an.value, an.history "
        "FROM readerstudy_question q JOIN readerstudy_case c ON c.study_id = q.study_id "
        "LEFT JOIN readerstudy_answer an ON an.question_id = q.id AND an.reader_id = %s AND an.case_id = c.id "
        'WHERE c.token = %s ORDER BY q."order", q.id',
        [reader.pk, token],
    )
    batch.add(_READING_UPSERT, [False, token, reader.pk])
    found, done, question_rows, reading = batch.run()
    if not found:
        return None
    assignment = _assignment(found[0], reader)
    case = Case(
        pk=found[0][_N], study_id=assignment.study_id, token=token, shown_labels=list(_json(found[0][_N + 1]) or [])
    )
    questions, previous = _questions(assignment.study, question_rows)
    return SubmitState(assignment, case, {r[0] for r in done}, reading[0], questions, previous)


def _questions(study: Study, rows: list[tuple]) -> tuple[dict[str, Question], dict[int, tuple[int, Any, list]]]:
    questions, previous = {}, {}
    for qid, key, text, kind, required, options, aid, value, history in rows:
        question = Question(
            pk=qid, study_id=study.pk, key=key, text=text, kind=kind, required=bool(required), options=_json(options)
        )
        question.study = study  # clean_value reads the study's design ("unable to assess")
        questions[key] = question
        if aid is not None:
            previous[qid] = (aid, _json(value), _json(history))
    return questions, previous


def reader_image(*, reader: AbstractBaseUser, token: str) -> str | None:
    """The stored image path of the case behind `token`, if it is on a form this reader may read now."""
    if not reader.is_authenticated or is_admin(reader):
        return None
    access, params = _access(reader)
    sql = (
        "SELECT c.image FROM readerstudy_case c WHERE c.token = %s AND EXISTS (SELECT 1 FROM readerstudy_formcase "
        f"fc JOIN {_A} a ON a.form_id = fc.form_id WHERE fc.case_id = c.id AND a.id IN ({access}))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [token, *params])
        row = cursor.fetchone()
    return None if row is None else row[0]


def done_case_ids(assignment_id: int) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT case_id FROM readerstudy_casereading WHERE assignment_id = %s AND completed_at IS NOT NULL",
            [assignment_id],
        )
        return {r[0] for r in cursor.fetchall()}


def cases_shown(
    *, assignment: Assignment, case_ids: list[int], rows: list[tuple] | None = None
) -> dict[int, dict[str, Any]]:
    """The reader-visible fields of these cases (an allow-list: token, size, shown labels, DICOM depth), the
    reader's flag on each, and their answers to the first one (question key -> value), by case id. One query:
    one row per answer of the first case (a NULL answer where there is none). `rows`: that query's rows, read
    already in a batch of the caller's (`cases_shown_add`)."""
    if rows is None:
        batch = Batch()
        cases_shown_add(batch, assignment=assignment, case_ids=case_ids)
        rows = batch.run()[0]
    out: dict[int, dict[str, Any]] = {}
    for cid, token, width, height, labels, full_depth, window, flagged, comment, key, value in rows:
        if cid not in out:
            out[cid] = {"token": token, "width": width, "height": height, "shown_labels": list(_json(labels) or []),
                        "full_depth": full_depth, "display_window": _json(window) or {},
                        "flagged": bool(flagged), "flag_comment": comment or "", "answers": {}}  # fmt: skip
        if key is not None:
            out[cid]["answers"][key] = _json(value)
    return out


def shown_ids(assignment: Assignment, position: int) -> list[int]:
    """The ids of the case at `position` and of the next one (for the prefetch), as a case payload shows them."""
    nxt = position + 1 if position < assignment.total else None
    return [assignment.order[position - 1], *([assignment.order[nxt - 1]] if nxt else [])]


def cases_shown_add(batch: Batch, *, assignment: Assignment, case_ids: list[int]) -> None:
    marks = ", ".join(["%s"] * len(case_ids))
    sql = (
        "SELECT c.id, c.token, c.width, c.height, c.shown_labels, c.full_depth, c.display_window, r.flagged, "
        "r.flag_comment, q.key, an.value "
        "FROM readerstudy_case c "
        "LEFT JOIN readerstudy_casereading r ON r.case_id = c.id AND r.assignment_id = %s "
        "LEFT JOIN readerstudy_answer an ON an.case_id = c.id AND an.reader_id = %s AND c.id = %s "
        "LEFT JOIN readerstudy_question q ON q.id = an.question_id "
        f"WHERE c.id IN ({marks})"
    )
    batch.add(sql, [assignment.pk, assignment.reader_id, case_ids[0], *case_ids])
