"""Job pages show kinds and results as text a person reads, not Python reprs."""

import pytest

from jobs.models import Job

pytestmark = pytest.mark.django_db


def test_job_page_shows_the_kind_label_and_result_fields_as_text(researcher, researcher_client):
    job = Job.objects.create(
        created_by=researcher,  # training jobs are per owner (pruning.visibility)
        kind="train",
        status=Job.Status.SUCCEEDED,
        params={"training_run_id": 7},
        result={"best_val_loss": 0.123456, "seeds": [0, 1], "stopped_early": False, "checkpoint": None},
    )
    html = researcher_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Train one seed" in html
    for text in (
        "<dt>Best val loss</dt><dd>0.1235</dd>",
        "<dt>Seeds</dt><dd>0, 1</dd>",
        "<dt>Stopped early</dt><dd>no</dd>",
    ):
        assert text in html
    assert "{&#x27;" not in html and "[0, 1]" not in html, "no dict or list reprs"
    listing = researcher_client.get("/jobs/").content.decode()
    assert "Train one seed" in listing


def test_a_kind_no_app_registers_any_more_is_shown_by_its_name(researcher_client):
    job = Job.objects.create(kind="retired_kind")
    assert "retired_kind" in researcher_client.get(f"/jobs/{job.pk}/").content.decode()
