"""The statistics page of a study: a GET only reads; the Compute/Recompute POST starts the job; cache per answer
state, downloads, HTML report, API."""

import io
import json

import pandas as pd
from django.core.management import call_command
from django.urls import reverse

from analysis.models import PerceptionStats
from jobs.execution import job_run
from jobs.models import Job
from readerstudy import services
from readerstudy.models import Answer, Case


def _recompute(client, study):
    r = client.post(reverse("analysis:perception", args=[study.pk]))
    assert r.status_code == 302 and r.url == reverse("analysis:perception", args=[study.pk])
    return r


def _computed(study, client):
    call_command("simulate_readers", "--study", str(study.pk), "--seed", "4")
    page = client.get(reverse("analysis:perception", args=[study.pk]))
    assert page.status_code == 200 and b'data-testid="not-ready"' in page.content
    assert b'data-testid="recompute"' in page.content and b"csrfmiddlewaretoken" in page.content
    _recompute(client, study)
    job = PerceptionStats.objects.get(study=study).job
    assert job.kind == "perception" and job.status == "queued"
    assert job_run(job_id=job.pk) == "succeeded"
    return job


def test_page_shows_completeness_sentences_tables_and_figures_in_order(study, researcher_client):
    job = _computed(study, researcher_client)
    html = researcher_client.get(reverse("analysis:perception", args=[study.pk])).content.decode()
    order = [html.index(k) for k in ('id="completeness"', 'id="sentences"', 'id="tables"', 'id="figures"')]
    assert order == sorted(order)
    assert 'data-testid="simulated"' in html and "PIEs" in html and 'data-table="mixed_linear"' in html
    assert Job.objects.get(pk=job.pk).result["stage"] == "full"
    assert 'data-testid="recompute"' not in html  # current numbers: nothing to recompute
    # Nothing changed: asking again starts no job.
    _recompute(researcher_client, study)
    assert Job.objects.filter(kind="perception").count() == 1


def test_changed_answers_start_a_new_job_and_the_old_numbers_stay_visible(study, researcher_client):
    _computed(study, researcher_client)
    answer = Answer.objects.filter(question__key="quality").first()
    Answer.objects.filter(pk=answer.pk).update(value=6 - answer.value, updated_at=answer.updated_at.replace(year=2030))
    html = researcher_client.get(reverse("analysis:perception", args=[study.pk])).content.decode()
    assert 'data-testid="stale"' in html and 'id="sentences"' in html and 'data-testid="recompute"' in html
    assert Job.objects.filter(kind="perception").count() == 1, "a GET starts nothing"
    _recompute(researcher_client, study)
    assert Job.objects.filter(kind="perception").count() == 2
    html = researcher_client.get(reverse("analysis:perception", args=[study.pk])).content.decode()
    assert 'data-testid="stale"' in html and 'data-testid="recompute"' not in html  # computing: no second button


def test_downloads_parse_csv_json_png_and_the_html_report_is_self_contained(study, researcher_client):
    _computed(study, researcher_client)
    file = lambda name: researcher_client.get(reverse("analysis:perception_file", args=[study.pk, name]))  # noqa: E731
    table = pd.read_csv(io.BytesIO(b"".join(file("descriptive.csv").streaming_content)))
    assert set(table["group"]) == {"PIE", "non-PIE"}
    summary = json.loads(b"".join(file("summary.json").streaming_content))
    assert summary["stage"] == "full" and len(summary["sentences"]) == 3
    png = file("fig6_perception.png")
    assert png["Content-Type"] == "image/png" and b"".join(png.streaming_content).startswith(b"\x89PNG")
    assert file("fig6_perception.pdf")["Content-Disposition"].startswith("attachment")
    assert file(".hidden").status_code == 404 and file("nothere.csv").status_code == 404
    report = researcher_client.get(reverse("analysis:perception_html", args=[study.pk])).content.decode()
    assert report.count("data:image/png;base64,") == 4 and "<link" not in report and 'src="/' not in report


def test_api_returns_the_statistics_and_is_in_the_openapi_schema(study, researcher_client, reader_a_client):
    _computed(study, researcher_client)
    data = researcher_client.get(reverse("analysis:api-perception", args=[study.pk])).json()
    assert data["stage"] == "full" and data["current"] is True and len(data["sentences"]) == 3
    assert data["summary"]["tables"]["paper_tests"][0]["question"] == "agree_label"
    assert reader_a_client.get(reverse("analysis:api-perception", args=[study.pk])).status_code == 403
    assert reader_a_client.get(reverse("analysis:perception", args=[study.pk])).status_code in (302, 403)
    schema = researcher_client.get(reverse("api-schema"), {"format": "json"}).json()
    operations = [op.get("operationId") for path in schema["paths"].values() for op in path.values()]
    assert "analysis_perception_stats" in operations


def test_study_without_answers_gives_not_estimable_entries_not_an_error(study, researcher_client):
    _recompute(researcher_client, study)
    job = PerceptionStats.objects.get(study=study).job
    assert job_run(job_id=job.pk) == "succeeded"
    html = researcher_client.get(reverse("analysis:perception", args=[study.pk])).content.decode()
    assert html.count("not estimable") >= 3


def test_a_real_answer_marks_the_cache_stale(study, reader_a, researcher_client):
    _recompute(researcher_client, study)
    first = PerceptionStats.objects.get(study=study).job
    job_run(job_id=first.pk)
    from readerstudy.models import Assignment

    case = Case.objects.get(pk=Assignment.objects.get(study=study, reader=reader_a).order[0])
    services.answers_submit(reader=reader_a, case=case, values={"quality": 2})
    _recompute(researcher_client, study)
    assert PerceptionStats.objects.get(study=study).job_id != first.pk


def test_get_requests_of_the_page_and_the_api_never_start_a_job_or_write(study, reader_a, researcher_client):
    """A GET only reads (issue 8): the page and the API show what is cached; the POSTs start the computation."""
    call_command("simulate_readers", "--study", str(study.pk), "--seed", "4")
    for _ in range(2):
        assert researcher_client.get(reverse("analysis:perception", args=[study.pk])).status_code == 200
        data = researcher_client.get(reverse("analysis:api-perception", args=[study.pk])).json()
        assert data["stage"] == "" and data["job_id"] is None and data["current"] is False
    assert not PerceptionStats.objects.exists() and not Job.objects.filter(kind="perception").exists()
    data = researcher_client.post(reverse("analysis:api-perception", args=[study.pk])).json()
    job = Job.objects.get(kind="perception")
    assert data["job_id"] == job.pk and data["job_status"] == "queued"
    researcher_client.post(reverse("analysis:api-perception", args=[study.pk]))
    assert Job.objects.filter(kind="perception").count() == 1, "a job already on these answers is not doubled"
