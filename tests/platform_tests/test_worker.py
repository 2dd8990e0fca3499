"""The real round trip: web request -> broker -> a real `celery worker` process -> database."""

import pytest

from tests.conftest import wait_for_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_admin_starts_selfcheck_and_a_real_worker_finishes_it(celery_worker, admin_client_):
    from jobs.models import Job

    response = admin_client_.post("/jobs/start/", {"kind": "selfcheck"})
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == f"/jobs/{job.pk}/"
    job = wait_for_job(job.pk, timeout=60)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["torch"].startswith("2.14.1")
    assert job.progress_done == job.progress_total == 3
    status = admin_client_.get(f"/jobs/status.json?ids={job.pk}").json()["jobs"][0]
    assert status["status"] == "succeeded" and status["percent"] == 100
