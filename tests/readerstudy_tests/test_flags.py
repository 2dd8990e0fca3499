"""Readers flag cases with a comment; researchers see the flags (with the hidden fields) in the dashboard and
the flags CSV; a reader can flag only their own cases of an open study, and the flag never reveals PIE status."""

import csv
import io

import pytest
from django.urls import reverse

from readerstudy import errors, services
from readerstudy.models import Assignment, Case, CaseReading

from .conftest import answer_all

pytestmark = pytest.mark.django_db
FLAG = reverse("readerstudy:api-case-flag")


def first_case(reader) -> Case:
    return Case.objects.get(pk=Assignment.objects.get(reader=reader).order[0])


def flag(client, body):
    return client.post(FLAG, body, content_type="application/json")


def test_reader_flags_a_case_with_a_comment_and_sees_it_again_on_that_case(study, reader_a, reader_a_client):
    case = first_case(reader_a)
    r = flag(reader_a_client, {"case": case.token, "flagged": True, "comment": "  Rotated film  "})
    assert r.status_code == 200 and r.json() == {"flagged": True, "comment": "Rotated film"}
    payload = reader_a_client.get(reverse("readerstudy:api-reader-case", args=[study.pk, 1])).json()
    assert payload["flag"] == {"flagged": True, "comment": "Rotated film"}
    assert set(payload["flag"]) == {"flagged", "comment"}  # nothing hidden rides along

    r = flag(reader_a_client, {"case": case.token, "flagged": False, "comment": "ignored"})
    assert r.json() == {"flagged": False, "comment": ""}
    reading = CaseReading.objects.get(case=case)
    assert (reading.flagged, reading.flag_comment, reading.flagged_at) == (False, "", None)


def test_flag_on_a_case_of_another_reader_or_a_closed_study_is_refused(study, reader_a, reader_b_client):
    case = first_case(reader_a)
    assert flag(reader_b_client, {"case": case.token, "flagged": True}).status_code == 403
    assert flag(reader_b_client, {"case": "no-such-token", "flagged": True}).status_code == 403
    services.study_close(study=study)
    with pytest.raises(errors.StudyNotOpenError):
        services.case_flag(reader=reader_a, case=case, flagged=True)
    assert not CaseReading.objects.filter(flagged=True).exists()


def test_a_too_long_comment_is_refused_with_its_length(study, reader_a):
    with pytest.raises(errors.ReaderStudyError, match="under 5000 characters"):
        services.case_flag(reader=reader_a, case=first_case(reader_a), flagged=True, comment="x" * 5001)


def test_researcher_gets_the_flags_csv_and_the_dashboard_counts_cases_and_flags(
    study, reader_a, reader_b, researcher_client
):
    case = first_case(reader_a)
    services.case_flag(reader=reader_a, case=case, flagged=True, comment="Label wrong, see apex")
    answer_all(reader_a, study)
    answer_all(reader_b, study, upto=2)

    rows = list(
        csv.DictReader(
            io.StringIO(researcher_client.get(reverse("readerstudy:export_flags", args=[study.pk])).content.decode())
        )
    )
    assert [(r["reader"], r["position"], r["source_image_id"], r["is_pie"], r["comment"]) for r in rows] == [
        ("R01", "1", case.source_image_id, str(int(case.is_pie)), "Label wrong, see apex")
    ]
    page = researcher_client.get(reverse("readerstudy:dashboard", args=[study.pk]))
    # 6 + 2 cases read of 12 assigned (the 24 answers are not what the card counts)
    assert page.context["n_readings_done"] == 8 and page.context["n_readings_total"] == 12
    assert page.context["n_flags"] == 1
    assert b'data-testid="cases-read">8 / 12<' in page.content


def test_readers_cannot_download_the_flags(study, reader_a_client):
    r = reader_a_client.get(reverse("readerstudy:export_flags", args=[study.pk]))
    assert r.status_code in (302, 403, 404)


def test_flagging_a_case_before_its_viewed_event_counts_as_viewing_it(study, reader_a, reader_a_client):
    case = first_case(reader_a)
    assert not CaseReading.objects.filter(case=case).exists()
    assert flag(reader_a_client, {"case": case.token, "flagged": True}).status_code == 200
    reading = CaseReading.objects.get(case=case)
    assert reading.first_viewed_at is not None and reading.first_viewed_at == reading.flagged_at
    assert reading.last_event_at is not None  # the server clock runs from here
    assignment = Assignment.objects.get(reader=reader_a)
    assert assignment.started_at is not None

    # A later "viewed" event keeps the first view the flag recorded.
    first = reading.first_viewed_at
    r = reader_a_client.post(reverse("readerstudy:api-reader-viewed", args=[study.pk, 1]))
    assert r.status_code == 200
    reading.refresh_from_db()
    assert reading.first_viewed_at == first
