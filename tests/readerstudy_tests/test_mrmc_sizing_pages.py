"""The VGC-style MRMC section of a study's statistics page, and the study sizing page (form -> job -> table)."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from config.roles import RESEARCHERS
from jobs.execution import job_run
from jobs.models import Job

SMALL_GRID = {
    "readers": "2,3",
    "cases": "8,12",
    "analyses": ["pie"],
    "n_sim": "10",
    "seed": "1",
    "target": "0.8",
    "cases_per_form": "0",
    "mu_pos": "1",
    "delta": "0.5",
    "var_r": "0.03",
    "var_c": "0.3",
    "var_rc": "0.2",
}


def test_statistics_page_shows_the_vgc_mrmc_section_of_a_forms_study(study, researcher_client):
    url = reverse("analysis:perception", args=[study.pk])
    assert b"No answers yet." in researcher_client.get(url).content
    call_command("simulate_readers", "--study", str(study.pk), "--readers", "4", "--seed", "3")
    html = researcher_client.get(url).content.decode()
    assert 'data-testid="mrmc-section"' in html and 'data-table="mrmc_vgc"' in html
    assert "difficulty: VGC AUC" in html and "4 readers, 12 cases, split-plot" in html
    assert f"{reverse('analysis:sizing')}?study={study.pk}" in html


def test_sizing_page_queues_a_job_and_shows_the_power_table(db, settings, tmp_path, researcher_client):
    settings.ARTIFACT_ROOT = tmp_path
    page = researcher_client.get(reverse("analysis:sizing"))
    assert page.status_code == 200 and b'data-testid="sizing-start"' in page.content
    r = researcher_client.post(reverse("analysis:sizing"), SMALL_GRID)
    assert r.status_code == 302, r.content.decode()[:2000]
    job = Job.objects.get(kind="study_size")
    assert r.url == f"{reverse('analysis:sizing')}?job={job.pk}"
    assert job_run(job_id=job.pk) == "succeeded", Job.objects.get(pk=job.pk).error
    html = researcher_client.get(r.url).content.decode()
    assert 'data-testid="sizing-grid"' in html and html.count("<td>pie</td>") == 4
    assert 'data-testid="sizing-test"' in html
    assert "two-way (reader and case) cluster-robust Wald, t with readers - 1 df" in html
    assert "simulated studies, seed 1" in html or "No design in the grid reaches 80% power" in html


def test_sizing_from_a_pilot_study_uses_its_published_odds_ratio(study, researcher_client):
    call_command("simulate_readers", "--study", str(study.pk), "--readers", "2", "--seed", "5")
    url = f"{reverse('analysis:sizing')}?study={study.pk}"
    assert b"The pilot study&#x27;s question" in researcher_client.get(url).content
    r = researcher_client.post(url, {**SMALL_GRID, "question": "difficulty"})
    assert r.status_code == 302
    job = Job.objects.get(kind="study_size")
    assert job.params["study_id"] == study.pk
    assert job_run(job_id=job.pk) == "succeeded", Job.objects.get(pk=job.pk).error
    html = researcher_client.get(r.url).content.decode()
    assert 'data-testid="sizing-pilot"' in html and "Pilot: published PIE odds ratio" in html


def test_a_pilot_that_cannot_give_the_effect_fails_with_its_message_and_no_traceback(study, researcher_client):
    call_command("simulate_readers", "--study", str(study.pk), "--readers", "2", "--seed", "5")
    url = f"{reverse('analysis:sizing')}?study={study.pk}"
    r = researcher_client.post(url, {**SMALL_GRID, "question": "nope"})
    assert job_run(job_id=Job.objects.get(kind="study_size").pk) == "failed"
    html = researcher_client.get(r.url).content.decode()
    assert "The sizing cannot run as asked: The pilot has no analysed question &#x27;nope&#x27;" in html
    assert "Traceback" not in html and "sizing_pie" not in html  # no traceback, no server path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"readers": "1,3"}, "each at least 2"),
        ({"cases": "8,x"}, "Whole numbers separated by commas"),
        ({"readers": "2,3,4,5,6", "cases": "8,12,16,20", "analyses": ["pie", "mrmc_auc"], "n_sim": "2000"}, "at most"),
    ],
)
def test_sizing_page_refuses_bad_grids_with_a_message(db, researcher_client, change, message):
    r = researcher_client.post(reverse("analysis:sizing"), {**SMALL_GRID, **change})
    assert r.status_code == 200 and message in r.content.decode()
    assert not Job.objects.filter(kind="study_size").exists()


def test_another_researcher_cannot_open_someone_elses_sizing_job(
    db, settings, tmp_path, researcher_client, django_user_model
):
    settings.ARTIFACT_ROOT = tmp_path
    researcher_client.post(reverse("analysis:sizing"), SMALL_GRID)
    job = Job.objects.get(kind="study_size")
    other = django_user_model.objects.create_user(username="other", password="x")
    other.groups.add(Group.objects.get_or_create(name=RESEARCHERS)[0])
    client = Client()
    client.force_login(other)
    assert client.get(f"{reverse('analysis:sizing')}?job={job.pk}").status_code == 404
    assert researcher_client.get(f"{reverse('analysis:sizing')}?job={job.pk}").status_code == 200
