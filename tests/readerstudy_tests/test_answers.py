"""Answer validation (every question type), the rules of a study, and the time bookkeeping."""

from datetime import timedelta

import pytest
from django.utils import timezone

from readerstudy import errors, services
from readerstudy.models import Answer, Assignment, Case, CaseReading, Question

from .conftest import answer_all

pytestmark = pytest.mark.django_db


def first_case(study, reader) -> Case:
    return Case.objects.get(pk=Assignment.objects.get(study=study, reader=reader).order[0])


def submit(reader, case, **values):
    return services.answers_submit(reader=reader, case=case, values=values)


@pytest.fixture
def extra_questions(study):
    Question.objects.create(
        study=study,
        order=4,
        key="finding",
        text="Main finding?",
        kind="choice",
        required=False,
        options=["Normal", "Abnormal", "Unsure"],
    )
    Question.objects.create(study=study, order=5, key="comment", text="Comment", kind="text", required=False)


@pytest.mark.parametrize(
    ("key", "raw", "stored"),
    [
        ("agree_label", "yes", "yes"),
        ("agree_label", "No", "no"),
        ("agree_label", True, "yes"),
        ("quality", 1, 1),
        ("quality", "5", 5),
        ("quality", 3.0, 3),
        ("difficulty", " 2 ", 2),
        ("finding", "Unsure", "Unsure"),
        ("comment", "  subtle nodule  ", "subtle nodule"),
        ("comment", "", ""),
    ],
)
def test_valid_values_are_stored_in_canonical_form(study, reader_a, extra_questions, key, raw, stored):
    case = first_case(study, reader_a)
    assert submit(reader_a, case, **{key: raw}).saved == {key: stored}
    assert Answer.objects.get(reader=reader_a, case=case, question__key=key).value == stored


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("quality", 0, r"whole number from 1 \(Poor\) to 5 \(Excellent\) \(got 0\)"),
        ("quality", 6, r"from 1 \(Poor\) to 5 \(Excellent\) \(got 6\)"),
        ("difficulty", "abc", r"1 \(Very easy\) to 5 \(Very difficult\) \(got 'abc'\)"),
        ("difficulty", 2.5, r"got 2.5"),
        ("quality", True, r"got True"),
        ("quality", None, "needs an answer"),
        ("agree_label", "maybe", r"Answer yes or no \(got 'maybe'\)"),
        ("agree_label", 1, r"Answer yes or no"),
        ("agree_label", "", "needs an answer"),
        ("finding", "Other", r"Choose one of: Normal, Abnormal, Unsure \(got 'Other'\)"),
        ("comment", 12, "Enter text"),
        ("comment", "x" * 5001, "under 5000 characters"),
        ("nonsense", "yes", "Unknown question 'nonsense'"),
    ],
)
def test_invalid_values_are_refused_with_a_clear_message_and_nothing_saved(
    study, reader_a, extra_questions, key, raw, message
):
    case = first_case(study, reader_a)
    with pytest.raises(errors.ReaderStudyError, match=message) as exc:
        services.answers_submit(reader=reader_a, case=case, values={"agree_label": "yes", key: raw})
    assert key in exc.value.errors
    assert not Answer.objects.exists()


def test_save_and_next_needs_every_required_answer(study, reader_a, extra_questions):
    case = first_case(study, reader_a)
    submit(reader_a, case, agree_label="no")
    with pytest.raises(errors.ReaderStudyError, match="needs an answer") as exc:
        services.answers_submit(reader=reader_a, case=case, values={"quality": 4}, complete=True)
    assert set(exc.value.errors) == {"difficulty"}
    assert not Answer.objects.filter(question__key="quality").exists()
    assert CaseReading.objects.get(case=case).completed_at is None
    # optional questions (choice, comment) are not needed
    result = services.answers_submit(reader=reader_a, case=case, values={"quality": 4, "difficulty": 1}, complete=True)
    assert result.case_completed and result.next_position == 2


def test_answer_for_a_case_of_another_reader_is_refused(study, reader_a, reader_b):
    with pytest.raises(errors.NotAssignedError, match="not assigned to you"):
        submit(reader_b, first_case(study, reader_a), agree_label="yes")
    assert not Answer.objects.exists()


def test_closed_and_draft_studies_take_no_answers(study, reader_a):
    case = first_case(study, reader_a)
    services.study_close(study=study)
    with pytest.raises(errors.StudyNotOpenError, match="is closed"):
        submit(reader_a, case, agree_label="yes")
    study.status = "draft"
    study.save()
    with pytest.raises(errors.NotAssignedError):
        submit(reader_a, case, agree_label="yes")
    assert not Answer.objects.exists()


def test_a_reader_cannot_answer_ahead_of_their_current_case(study, reader_a):
    order = Assignment.objects.get(study=study, reader=reader_a).order
    with pytest.raises(errors.NotAllowedError, match="Finish case 1 of 6 first"):
        submit(reader_a, Case.objects.get(pk=order[2]), agree_label="yes")


def test_changes_to_finished_cases_follow_the_study_setting(study, reader_a):
    answer_all(reader_a, study, upto=1)
    case = first_case(study, reader_a)
    submit(reader_a, case, quality=5)  # allowed by default
    answer = Answer.objects.get(case=case, question__key="quality")
    assert answer.value == 5 and [h["value"] for h in answer.history] == [3, 5]
    study.allow_change = False
    study.save()
    with pytest.raises(errors.NotAllowedError, match="cannot be changed"):
        submit(reader_a, case, quality=1)
    assert Answer.objects.get(pk=answer.pk).value == 5


def test_going_back_is_refused_when_the_study_forbids_it(study, reader_a):
    study.allow_back = False
    study.save()
    answer_all(reader_a, study, upto=2)
    with pytest.raises(errors.NotAllowedError, match="Going back"):
        submit(reader_a, first_case(study, reader_a), quality=1)


def test_server_time_sums_capped_gaps_and_client_time_is_bounded(study, reader_a):
    assignment = Assignment.objects.get(study=study, reader=reader_a)
    case = first_case(study, reader_a)
    services.case_view(assignment=assignment, case=case)
    reading = CaseReading.objects.get(assignment=assignment, case=case)
    CaseReading.objects.filter(pk=reading.pk).update(last_event_at=timezone.now() - timedelta(seconds=30))
    services.answers_submit(reader=reader_a, case=case, values={"agree_label": "yes"}, client_active_ms=20000)
    reading.refresh_from_db()
    assert 30 <= reading.server_seconds < 32 and reading.client_active_seconds == 20
    CaseReading.objects.filter(pk=reading.pk).update(last_event_at=timezone.now() - timedelta(hours=3))
    services.answers_submit(reader=reader_a, case=case, values={"quality": 2}, client_active_ms=10**9)
    reading.refresh_from_db()
    assert reading.server_seconds < 30 + 600 + 2 and reading.client_active_seconds <= 20 + 600 + 5
    assert reading.first_viewed_at is not None


def test_finishing_the_last_case_completes_the_assignment(study, reader_a):
    assignment = answer_all(reader_a, study)
    assignment.refresh_from_db()
    assert assignment.completed_at is not None and assignment.started_at is not None
    assert Answer.objects.filter(reader=reader_a).count() == 6 * 3
