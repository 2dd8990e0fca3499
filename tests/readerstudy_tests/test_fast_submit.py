"""The reading page's save skips DRF's request/response machinery (issue 22), and keeps DRF's guards: the
login and CSRF checks, strict JSON, and the same bodies and statuses for results and errors."""

import pytest
from django.test import Client
from django.urls import reverse

from readerstudy.models import Answer, Assignment, Case

pytestmark = pytest.mark.django_db
SUBMIT = reverse("readerstudy:api-answer-submit")


def _first(study, reader) -> tuple[Case, int]:
    assignment = Assignment.objects.get(study=study, reader=reader)
    return Case.objects.get(pk=assignment.order[0]), assignment.pk


def _csrf_client(user) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(reverse("readerstudy:home"))  # sets the CSRF cookie
    return client, client.cookies["csrftoken"].value


def test_without_the_csrf_token_the_save_is_refused_and_nothing_is_written(study, reader_a):
    case, assignment = _first(study, reader_a)
    client, token = _csrf_client(reader_a)
    body = {"case": case.token, "assignment": assignment, "answers": {"quality": 4}}
    r = client.post(SUBMIT, body, content_type="application/json")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    assert not Answer.objects.filter(reader=reader_a).exists()
    r = client.post(SUBMIT, body, content_type="application/json", headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.json()["saved"] == {"quality": 4}
    assert Answer.objects.get(reader=reader_a).value == 4


def test_anonymous_and_inactive_users_get_drfs_403(study, reader_a, reader_a_client):
    case, assignment = _first(study, reader_a)
    body = {"case": case.token, "assignment": assignment, "answers": {"quality": 4}}
    assert Client().post(SUBMIT, body, content_type="application/json").status_code == 403
    reader_a.is_active = False
    reader_a.save(update_fields=["is_active"])
    assert reader_a_client.post(SUBMIT, body, content_type="application/json").status_code == 403
    assert not Answer.objects.exists()


def test_errors_carry_the_same_body_and_status_as_through_drf(study, reader_a, reader_a_client):
    case, assignment = _first(study, reader_a)
    bad = {"case": case.token, "assignment": assignment, "answers": {"quality": 99}}
    r = reader_a_client.post(SUBMIT, bad, content_type="application/json")
    assert r.status_code == 400 and set(r.json()) == {"detail", "errors"} and "quality" in r.json()["errors"]
    other = {"case": case.token, "assignment": assignment + 1000, "answers": {"quality": 3}}
    assert reader_a_client.post(SUBMIT, other, content_type="application/json").status_code == 409  # NotYoursError
    # Not plain (a string assignment, NaN): DRF's serializer path words the 400.
    odd = reader_a_client.post(SUBMIT, {**bad, "assignment": "x"}, content_type="application/json")
    assert odd.status_code == 400 and odd.json()["detail"] == "Malformed submission."
    nan = f'{{"case": "{case.token}", "assignment": {assignment}, "answers": {{"quality": NaN}}}}'
    assert reader_a_client.post(SUBMIT, nan, content_type="application/json").status_code == 400
    assert not Answer.objects.exists()


def test_save_and_next_returns_the_allow_listed_next_case(study, reader_a, reader_a_client):
    case, assignment = _first(study, reader_a)
    body = {"case": case.token, "assignment": assignment, "complete": True,
            "answers": {"agree_label": "yes", "quality": 3, "difficulty": 2}}  # fmt: skip
    r = reader_a_client.post(SUBMIT, body, content_type="application/json")
    data = r.json()
    assert r.status_code == 200 and data["case_completed"] and data["next_position"] == 2
    assert data["next"]["position"] == 2 and data["next"]["case"]["id"] != case.token
    assert set(data["next"]["case"]) <= {"id", "image_url", "width", "height", "shown_labels", "depth", "pixel_spacing"}
