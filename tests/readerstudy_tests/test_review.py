"""The review of reference labels after a reader finishes (design["allow_review"], off by default): only the
study's own finished readers, opened by a POST that locks their answers, and nothing hidden but the
reference labels on it (no PIE status, source id, correlation or other hidden truth)."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from config.roles import READERS
from readerstudy import builder, services
from readerstudy.errors import NotAllowedError
from readerstudy.models import Assignment, Case

from .conftest import answer_all, make_candidates
from .factories import with_assignment

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewable(study):
    study.design = {**study.design, "allow_review": True}
    study.save(update_fields=["design"])
    for k, case in enumerate(Case.objects.filter(study=study).order_by("pk")):
        case.hidden_truth = {**case.hidden_truth, "reference_labels": f"Ref{k:02d}a|Ref{k:02d}b"}
        case.save(update_fields=["hidden_truth"])
    return study


def url(study):
    return reverse("readerstudy:review", args=[study.pk])


def test_review_is_off_by_default_and_waits_until_the_reader_finished(study, reader_a, reader_a_client):
    assert builder.study_create_from_candidates.__kwdefaults__["allow_review"] is False
    answer_all(reader_a, study)
    assert reader_a_client.get(url(study)).status_code == 404  # the study does not offer it
    study.design = {**study.design, "allow_review": True}
    study.save(update_fields=["design"])
    assignment = Assignment.objects.get(study=study, reader=reader_a)
    last = Case.objects.get(pk=assignment.order[-1])
    services.answers_submit(reader=reader_a, case=last, values={"quality": 5})  # allowed: the review is not open
    assert assignment.answers.get(case=last, question__key="quality").value == 5


def test_an_unfinished_reader_is_sent_back_to_their_cases_and_nothing_locks(reviewable, reader_b, reader_b_client):
    answer_all(reader_b, reviewable, upto=2)
    for response in (reader_b_client.get(url(reviewable)), reader_b_client.post(url(reviewable))):
        assert response.status_code == 302 and response["Location"] == reverse(
            "readerstudy:read_resume", args=[reviewable.pk]
        )
    assert Assignment.objects.get(study=reviewable, reader=reader_b).review_opened_at is None


def test_opening_the_review_locks_the_answers_and_shows_only_the_reference(reviewable, reader_a, reader_a_client):
    assignment = answer_all(reader_a, reviewable, agree="no", quality=4)
    first = reader_a_client.get(url(reviewable)).content.decode()
    assert 'data-testid="review-confirm"' in first and "Ref" not in first  # nothing shown before the POST
    assert Assignment.objects.get(pk=assignment.pk).review_opened_at is None  # a GET never writes

    response = reader_a_client.post(url(reviewable))
    assert response.status_code == 302 and response["Location"] == url(reviewable)
    page = reader_a_client.get(url(reviewable)).content.decode()
    cases = [Case.objects.get(pk=pk) for pk in assignment.order]
    for case in cases:
        ref = case.hidden_truth["reference_labels"].replace("|", ", ")
        assert ref in page and case.token in page
        for hidden in (case.source_image_id, case.hidden_truth["noise"], case.dataset, f"{case.correlation}"):
            assert hidden not in page
    other = Case.objects.filter(study=reviewable).exclude(pk__in=assignment.order).first()
    assert other.hidden_truth["reference_labels"].replace("|", ", ") not in page  # another form's case
    assert "PIE" not in page and "pie" not in page.lower().replace("piece", "")
    assert page.count("4 (Very good)") == len(cases) and page.count(">No<") == len(cases)

    with pytest.raises(NotAllowedError, match="answers are locked"):
        services.answers_submit(reader=reader_a, case=cases[0], values={"quality": 1})
    body = with_assignment(reader_a_client, {"case": cases[0].token, "answers": {"quality": 1}})
    response = reader_a_client.post(reverse("readerstudy:api-answer-submit"), body, "application/json")
    assert response.status_code in (403, 409) and "locked" in response.json()["detail"]
    payload = reader_a_client.get(reverse("readerstudy:api-reader-case", args=[reviewable.pk, 1])).json()
    assert payload["editable"] is False
    done = reader_a_client.get(reverse("readerstudy:done", args=[reviewable.pk])).content.decode()
    assert 'data-testid="review-link"' in done


def test_the_dashboard_marks_readers_who_saw_the_reference(reviewable, reader_a, reader_a_client, researcher_client):
    answer_all(reader_a, reviewable)
    dashboard = reverse("readerstudy:dashboard", args=[reviewable.pk])
    pseudonym = Assignment.objects.get(study=reviewable, reader=reader_a).pseudonym
    assert f'data-testid="reviewed-{pseudonym}"' not in researcher_client.get(dashboard).content.decode()
    reader_a_client.post(url(reviewable))
    assert f'data-testid="reviewed-{pseudonym}"' in researcher_client.get(dashboard).content.decode()


def test_researchers_and_readers_of_another_study_get_404(
    reviewable, reader_a, researcher_client, admin_client, tmp_path, django_user_model
):
    answer_all(reader_a, reviewable)
    outsider = django_user_model.objects.create_user("outsider", password="x")
    outsider.groups.add(Group.objects.get(name=READERS))
    other = builder.study_create_from_candidates(
        title="Other",
        candidates=make_candidates(tmp_path / "o", n_pie=2, n_non=2),
        n_forms=1,
        cases_per_form=4,
        readers=[outsider],
        allow_review=True,
    )
    services.study_open(study=other)
    answer_all(outsider, other)
    from django.test import Client

    client = Client()
    client.force_login(outsider)
    assert client.get(url(other)).status_code == 200  # their own study's review
    assert client.get(url(reviewable)).status_code == 404
    assert client.post(url(reviewable)).status_code == 404
    assert researcher_client.get(url(reviewable)).status_code == 404
    assert admin_client.get(url(reviewable)).status_code == 404
    assert Assignment.objects.get(study=reviewable, reader=reader_a).review_opened_at is None
