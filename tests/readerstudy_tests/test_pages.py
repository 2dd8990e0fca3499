"""The reader's pages: reading, resume, completion; researcher dashboard and admin actions."""

import json
import re

import pytest
from django.urls import reverse

from readerstudy.models import Answer, Assignment, Case, Study

from .conftest import answer_all

pytestmark = pytest.mark.django_db


def bootstrap(response) -> dict:
    m = re.search(r'<script id="rs-bootstrap" type="application/json">(.*?)</script>', response.content.decode(), re.S)
    return json.loads(m.group(1))


def test_reader_home_lists_only_their_open_studies(study, reader_a_client):
    page = reader_a_client.get(reverse("readerstudy:home")).content.decode()
    shown = f"Reader study {study.pk}"  # the reader-facing title, never the researchers' "Small study"
    assert shown in page and "Start" in page and "Small study" not in page
    Study.objects.filter(pk=study.pk).update(status="draft")
    assert shown not in reader_a_client.get(reverse("readerstudy:home")).content.decode()


def test_reading_starts_at_the_first_case_and_shows_the_label(study, reader_a, reader_a_client):
    r = reader_a_client.get(reverse("readerstudy:read_resume", args=[study.pk]))
    assert r.status_code == 302 and r.url == reverse("readerstudy:read", args=[study.pk, 1])
    page = reader_a_client.get(r.url)
    data = bootstrap(page)
    first = Case.objects.get(pk=Assignment.objects.get(reader=reader_a).order[0])
    assert data["case"]["case"]["id"] == first.token and data["case"]["case"]["shown_labels"] == first.shown_labels
    assert [q["key"] for q in data["study"]["questions"]] == ["agree_label", "quality", "difficulty"]
    assert not first.readings.exists(), "a GET never starts the reading clock"
    viewed = reverse("readerstudy:api-reader-viewed", args=[study.pk, 1])
    assert reader_a_client.post(viewed).status_code == 200
    assert first.readings.get().first_viewed_at is not None


def test_resume_returns_to_the_first_unfinished_case_with_its_saved_answers(study, reader_a, client):
    from readerstudy import services

    assignment = answer_all(reader_a, study, upto=3)
    fourth = Case.objects.get(pk=assignment.order[3])
    services.answers_submit(reader=reader_a, case=fourth, values={"agree_label": "no"})
    # a fresh login (new session), as after logging out or a crash
    client.force_login(reader_a)
    r = client.get(reverse("readerstudy:read_resume", args=[study.pk]))
    assert r.url == reverse("readerstudy:read", args=[study.pk, 4])
    data = bootstrap(client.get(r.url))["case"]
    assert data["position"] == 4 and data["done"] == 3 and data["answers"] == {"agree_label": "no"}
    assert data["prev"] == 3 and data["next"] is None


def test_a_reader_cannot_skip_ahead_or_go_back_when_forbidden(study, reader_a, reader_a_client):
    answer_all(reader_a, study, upto=2)
    r = reader_a_client.get(reverse("readerstudy:read", args=[study.pk, 5]))
    assert r.url == reverse("readerstudy:read_resume", args=[study.pk])
    assert reader_a_client.get(reverse("readerstudy:read", args=[study.pk, 1])).status_code == 200
    Study.objects.filter(pk=study.pk).update(allow_back=False)
    r = reader_a_client.get(reverse("readerstudy:read", args=[study.pk, 1]))
    assert r.status_code == 302


def test_finishing_shows_the_completion_page(study, reader_a, reader_a_client):
    answer_all(reader_a, study)
    r = reader_a_client.get(reverse("readerstudy:read_resume", args=[study.pk]))
    assert r.url == reverse("readerstudy:done", args=[study.pk])
    assert "you have finished" in reader_a_client.get(r.url).content.decode()


def test_completion_page_redirects_while_cases_remain(study, reader_a_client):
    r = reader_a_client.get(reverse("readerstudy:done", args=[study.pk]))
    assert r.url == reverse("readerstudy:read_resume", args=[study.pk])


def test_dashboard_shows_progress_and_hidden_fields(study, reader_a, researcher_client):
    answer_all(reader_a, study, upto=2)
    page = researcher_client.get(reverse("readerstudy:dashboard", args=[study.pk])).content.decode()
    assert "R01" in page and "2 / 6" in page
    for case in Case.objects.filter(study=study):
        assert case.source_image_id in page
    assert "non-PIE" in page


def test_researchers_see_pseudonyms_only_and_admins_also_see_the_accounts(
    study, reader_a, researcher_client, admin_client_
):
    """A researcher reads R01, never the login behind it (the answers they analyse stay pseudonymised); the admin
    who manages the assignments sees both."""
    url = reverse("readerstudy:dashboard", args=[study.pk])
    researcher_page = researcher_client.get(url).content.decode()
    admin_page = admin_client_.get(url).content.decode()
    assert "R01" in researcher_page and reader_a.username not in researcher_page
    assert "R01" in admin_page and reader_a.username in admin_page


def test_admin_opens_and_closes_a_study(study, admin_client_):
    url = reverse("readerstudy:set_status", args=[study.pk])
    admin_client_.post(url, {"action": "close"})
    assert Study.objects.get(pk=study.pk).status == "closed"
    admin_client_.post(url, {"action": "open"})
    assert Study.objects.get(pk=study.pk).status == "open"


def test_closed_study_page_explains_and_takes_no_answers(study, reader_a, reader_a_client):
    Study.objects.filter(pk=study.pk).update(status="closed")
    r = reader_a_client.get(reverse("readerstudy:read", args=[study.pk, 1]), follow=True)
    assert "closed" in r.content.decode()
    token = Case.objects.get(pk=Assignment.objects.get(reader=reader_a).order[0]).token
    r = reader_a_client.post(
        reverse("readerstudy:api-answer-submit"),
        {"case": token, "assignment": Assignment.objects.get(reader=reader_a).pk, "answers": {"agree_label": "yes"}},
        content_type="application/json",
    )
    assert r.status_code == 409 and "closed" in r.json()["detail"]
    assert not Answer.objects.exists()


def test_image_is_served_as_png_without_a_file_name(study, reader_a, reader_a_client):
    case = Case.objects.get(pk=Assignment.objects.get(reader=reader_a).order[0])
    r = reader_a_client.get(reverse("readerstudy:image", args=[case.token]))
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    assert "Content-Disposition" not in r and "Last-Modified" not in r
    assert r["Cache-Control"] == "private, max-age=3600"
    assert b"".join(r.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"


def test_new_study_page_offers_pie_selections_when_the_pruning_adapter_has_some(
    artifacts, candidates, admin_client_, monkeypatch, reader_a
):
    from readerstudy import sources

    assert "No PIE selections yet" in admin_client_.get(reverse("readerstudy:new")).content.decode()
    monkeypatch.setattr(sources, "pie_selection_choices", lambda: [("7", "NIH · 90% · 5%")])
    monkeypatch.setattr(
        sources, "candidates_from_pie_selection", lambda v: (candidates, {"kind": "pie_selection", "id": v})
    )
    assert "NIH · 90% · 5%" in admin_client_.get(reverse("readerstudy:new")).content.decode()
    fields = {
        "source": "selection",
        "sel-selection": "7",
        "sel-title": "From PIEs",
        "sel-n_forms": 2,
        "sel-cases_per_form": 6,
        "sel-pie_fraction": 0.5,
        "sel-readers_per_form": 1,
        "sel-repeat_cases": 0,
        "sel-seed": 1,
        "sel-allow_back": "on",
        "sel-add_comment": "on",
        "sel-readers": [reader_a.pk],
    }
    r = admin_client_.post(reverse("readerstudy:new"), fields)
    study = Study.objects.get(title="From PIEs")
    assert r.status_code == 302 and study.source == {"kind": "pie_selection", "id": "7"}
    assert list(study.questions.values_list("key", flat=True)) == ["agree_label", "quality", "difficulty", "comment"]
    assert study.allow_back and not study.allow_change
    r = admin_client_.post(reverse("readerstudy:new"), {**fields, "sel-cases_per_form": 40})
    assert r.status_code == 400 and "need 40 PIEs" in r.content.decode()
