"""Concurrent saves against the real database: no duplicate answers, no lost updates."""

import threading

import pytest
from django.db import connection

from readerstudy import services
from readerstudy.models import Answer, Assignment, Case, Question

pytestmark = pytest.mark.django_db(transaction=True)

N_THREADS = 8


def run_in_threads(fn, args_list):
    barrier = threading.Barrier(len(args_list))
    errors = []

    def work(args):
        try:
            barrier.wait()
            fn(*args)
        except Exception as exc:  # collected and asserted on below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(a,)) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


def test_concurrent_saves_of_one_answer_keep_one_row_and_lose_no_update(study, reader_a):
    Question.objects.create(study=study, order=9, key="comment", text="Comment", kind="text", required=False)
    case = Case.objects.get(pk=Assignment.objects.get(study=study, reader=reader_a).order[0])
    values = [f"note {i}" for i in range(N_THREADS)]

    def save(value):
        services.answers_submit(reader=reader_a, case=case, values={"comment": value})

    assert run_in_threads(save, [(v,) for v in values]) == []
    answers = Answer.objects.filter(reader=reader_a, case=case, question__key="comment")
    assert answers.count() == 1
    history = [h["value"] for h in answers.get().history]
    # Every save is one change in the history (none overwritten unseen), the last one is the value.
    assert sorted(history) == sorted(values)
    assert answers.get().value == history[-1]


def test_concurrent_saves_of_different_questions_all_land(study, reader_a):
    case = Case.objects.get(pk=Assignment.objects.get(study=study, reader=reader_a).order[0])
    jobs = [("agree_label", "yes"), ("quality", 4), ("difficulty", 2)] * 3

    def save(key, value):
        services.answers_submit(reader=reader_a, case=case, values={key: value})

    assert run_in_threads(save, jobs) == []
    got = dict(Answer.objects.filter(reader=reader_a, case=case).values_list("question__key", "value"))
    assert got == {"agree_label": "yes", "quality": 4, "difficulty": 2}


def test_concurrent_save_and_next_completes_the_case_once(study, reader_a):
    assignment = Assignment.objects.get(study=study, reader=reader_a)
    case = Case.objects.get(pk=assignment.order[0])
    values = {"agree_label": "no", "quality": 2, "difficulty": 5}
    results = []

    def finish():
        results.append(services.answers_submit(reader=reader_a, case=case, values=values, complete=True))

    assert run_in_threads(finish, [()] * N_THREADS) == []
    assert Answer.objects.filter(reader=reader_a).count() == 3
    assert all(len(a.history) == 1 for a in Answer.objects.filter(reader=reader_a))
    assert {r.next_position for r in results} == {2}
    assert assignment.readings.filter(completed_at__isnull=False).count() == 1


def test_views_racing_saves_that_record_the_next_view_never_deadlock(study, reader_a):
    """A "viewed" (assignment UPDATE, then the reading's upsert, one round trip) against "save and next" that
    records the next case's view in its transaction (assignment lock, then reading rows): both take the
    assignment row first, so neither waits on the other in a cycle, and every view lands."""
    assignment = Assignment.objects.select_related("study").get(study=study, reader=reader_a)
    first, second = (Case.objects.get(pk=pk) for pk in assignment.order[:2])
    values = {"agree_label": "no", "quality": 2, "difficulty": 5}

    def save():
        services.answers_submit(reader=reader_a, case=first, values=values, complete=True, view_next=True)

    def view(case):
        services.case_view(assignment=assignment, case=case)

    jobs = [(save, ()) if i % 2 else (view, (second if i % 4 else first,)) for i in range(N_THREADS)]
    assert run_in_threads(lambda fn, args: fn(*args), jobs) == []
    reading = assignment.readings.get(case=second)
    assert reading.first_viewed_at is not None and reading.last_viewed_at is not None
    assert assignment.readings.filter(completed_at__isnull=False).count() == 1


def test_a_refused_save_outside_any_atomic_block_rolls_back_and_leaves_no_transaction_open(study, reader_a):
    """On PostgreSQL a request's save sends BEGIN with its reads and COMMIT with its writes
    (hotpath.SaveTransaction); a refusal in between must roll back and leave the connection idle."""
    from readerstudy.errors import ReaderStudyError

    assignment = Assignment.objects.get(study=study, reader=reader_a)
    case = Case.objects.get(pk=assignment.order[0])
    with pytest.raises(ReaderStudyError):
        services.answers_submit(reader=reader_a, case=case, values={"quality": 99, "agree_label": "yes"})
    assert connection.get_autocommit() and not connection.in_atomic_block
    if connection.vendor == "postgresql":
        from psycopg.pq import TransactionStatus

        assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    assert not Answer.objects.filter(reader=reader_a).exists()
    assert not assignment.readings.exists()  # the reading the save's upsert created went with the rollback
    services.answers_submit(reader=reader_a, case=case, values={"agree_label": "yes"})
    assert list(Answer.objects.filter(reader=reader_a).values_list("value", flat=True)) == ["yes"]
