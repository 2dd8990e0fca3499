"""Naming the shown label the reader disagrees with (question kind "labels", after a "no" to the label
question): only labels shown with that case pass, it needs the "no", one answer per (reader, case, question),
exported as JSON, counted per label on the dashboard, and never analysed as a rating."""

import io
import json

import pandas as pd
import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from analysis.core.perception.data import prepare
from readerstudy import exports, services
from readerstudy.builder import DISAGREE_QUESTION
from readerstudy.counts import label_disagreements, study_counts
from readerstudy.errors import ReaderStudyError
from readerstudy.models import Answer, Assignment, Case, Question

from .factories import with_assignment

pytestmark = pytest.mark.django_db


@pytest.fixture
def labelled(study, reader_a):
    """The study with the labels question, and reader A's first two cases showing two labels each."""
    Question.objects.create(study=study, order=9, **{k: v for k, v in DISAGREE_QUESTION.items()})
    cases = [Case.objects.get(pk=pk) for pk in Assignment.objects.get(study=study, reader=reader_a).order[:2]]
    for case in cases:
        case.shown_labels = ["Effusion", "Cardiomegaly"]
        case.save(update_fields=["shown_labels"])
    return cases


def _submit(reader, case, values, complete=False):
    return services.answers_submit(reader=reader, case=Case(token=case.token), values=values, complete=complete)


def test_labels_are_stored_in_the_order_shown_with_one_answer_per_reader_case_question(labelled, reader_a):
    first, _ = labelled
    _submit(reader_a, first, {"agree_label": "no", "disagree_labels": {"labels": ["Cardiomegaly"]}})
    _submit(reader_a, first, {"disagree_labels": {"labels": ["Cardiomegaly", "Effusion"], "missing": True}})
    answers = Answer.objects.filter(reader=reader_a, case=first, question__key="disagree_labels")
    assert answers.count() == 1
    answer = answers.get()
    assert answer.value == {"labels": ["Effusion", "Cardiomegaly"], "missing": True}
    assert len(answer.history) == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        Answer.objects.create(
            reader=reader_a, case=first, question=answer.question, assignment=answer.assignment,
            value={"labels": [], "missing": False}, created_at=answer.created_at, updated_at=answer.updated_at,
        )  # fmt: skip


def test_a_label_not_shown_with_the_case_is_refused_and_the_message_names_only_what_was_sent(labelled, reader_a):
    first, _ = labelled
    case = Case.objects.get(pk=first.pk)
    with pytest.raises(ReaderStudyError) as err:
        _submit(reader_a, first, {"agree_label": "no", "disagree_labels": {"labels": ["Pneumothorax"]}})
    message = json.dumps([str(err.value), err.value.errors])
    assert "'Pneumothorax' is not a label shown with this case" in message
    for hidden in ("PIE", "pie", case.source_image_id, case.hidden_truth["noise"], "HIDDENSET"):
        assert hidden not in message
    assert not Answer.objects.filter(reader=reader_a, case=first).exists()  # all or nothing
    for bad in ({"labels": "Effusion"}, {"labels": [1]}, {"labels": [], "missing": "yes"}, {"why": []}, 3):
        with pytest.raises(ReaderStudyError):
            _submit(reader_a, first, {"agree_label": "no", "disagree_labels": bad})


def test_labels_need_a_no_and_a_later_yes_empties_them(labelled, reader_a):
    first, _ = labelled
    with pytest.raises(ReaderStudyError, match='answer "no"'):
        _submit(reader_a, first, {"agree_label": "yes", "disagree_labels": {"labels": ["Effusion"]}})
    _submit(reader_a, first, {"agree_label": "no"})
    _submit(reader_a, first, {"disagree_labels": {"labels": ["Effusion"]}})
    _submit(reader_a, first, {"agree_label": "yes"})  # changed their mind: nothing is disagreed with any more
    value = Answer.objects.get(reader=reader_a, case=first, question__key="disagree_labels").value
    assert value == {"labels": [], "missing": False}


def test_the_reading_page_post_saves_labels_through_the_hot_path(client, labelled, reader_a):
    first, _ = labelled
    client.force_login(reader_a)
    body = {"case": first.token, "answers": {"agree_label": "no", "disagree_labels": {"labels": ["Effusion"]}}}
    response = client.post(reverse("readerstudy:api-answer-submit"), with_assignment(client, body), "application/json")
    assert response.status_code == 200, response.content
    assert response.json()["saved"]["disagree_labels"] == {"labels": ["Effusion"], "missing": False}
    body["answers"] = {"disagree_labels": {"labels": ["Atelectasis"]}}
    response = client.post(reverse("readerstudy:api-answer-submit"), with_assignment(client, body), "application/json")
    assert response.status_code == 400 and "disagree_labels" in response.json()["errors"]


def test_exports_carry_labels_the_statistics_skip_them_and_the_dashboard_counts_them(
    client, labelled, study, reader_a, researcher
):
    first, second = labelled
    for case, labels, missing in ((first, ["Effusion"], False), (second, ["Effusion", "Cardiomegaly"], True)):
        picked = {"labels": labels, "missing": missing}
        values = {"agree_label": "no", "quality": 3, "difficulty": 2, "disagree_labels": picked}
        _submit(reader_a, case, values, complete=True)
    tidy = pd.read_csv(io.StringIO(exports.tidy_csv(study=study)))
    rows = tidy[tidy.question == "disagree_labels"].sort_values("position")
    assert [json.loads(v) for v in rows["value"]] == [
        {"labels": ["Effusion"], "missing": False},
        {"labels": ["Effusion", "Cardiomegaly"], "missing": True},
    ]
    assert rows["value_numeric"].isna().all() and set(rows["question_kind"]) == {"labels"}
    via = exports.via_csv(assignment=Assignment.objects.get(study=study, reader=reader_a))
    assert "Effusion" not in via and DISAGREE_QUESTION["text"] not in via  # VIA has no such field
    assert via.count("Do you fully agree with the label?") == 2
    counts = study_counts(study=study)
    assert counts.answers == 6  # the labels answers are not ratings
    inp = prepare(tidy)
    assert len(inp.answers) == counts.answers
    assert "disagree_labels" not in {q.key for q in inp.questions} and "disagree_labels" in inp.skipped_questions
    table = {row["label"]: (row["disagreed"], row["asked"]) for row in label_disagreements(study=study)}
    assert table == {"Cardiomegaly": (1, 2), "Effusion": (2, 2), "(a finding is missing)": (1, 2)}
    client.force_login(researcher)
    rows = client.get(reverse("readerstudy:api-study-answers", args=[study.pk])).json()["answers"]
    picked = [r["value"] for r in rows if r["question"] == "disagree_labels"]
    assert sorted(picked, key=lambda v: len(v["labels"])) == [
        {"labels": ["Effusion"], "missing": False},
        {"labels": ["Effusion", "Cardiomegaly"], "missing": True},
    ]  # the JSON export carries it as given
    page = client.get(reverse("readerstudy:dashboard", args=[study.pk])).content.decode()
    assert 'data-testid="label-disagreements"' in page and "Cardiomegaly" in page
