"""The admin's Job pages show a job but never let anyone edit its status, attempt token or result."""

import pytest
from django.urls import reverse

from jobs.models import Job

pytestmark = pytest.mark.django_db


def test_the_job_admin_is_read_only_for_status_attempt_token_and_result(admin_client_):
    job = Job.objects.create(kind="selfcheck", status=Job.Status.RUNNING, attempt_token="tok123", result={"a": 1})
    url = reverse("admin:jobs_job_change", args=[job.pk])
    page = admin_client_.get(url).content.decode()
    for name in ("status", "attempt_token", "result"):
        assert f'name="{name}"' not in page, f"{name} is editable"
    assert "tok123" in page  # shown, read-only
    admin_client_.post(url, {"status": "succeeded", "attempt_token": "", "result": "{}"})
    job.refresh_from_db()
    assert (job.status, job.attempt_token, job.result) == (Job.Status.RUNNING, "tok123", {"a": 1})
    assert admin_client_.get(reverse("admin:jobs_job_add")).status_code == 403


def test_start_job_lists_every_job_kind_and_offers_only_those_without_parameters(admin_client_):
    from jobs.kinds import JOB_KINDS

    page = admin_client_.get(reverse("jobs:job_list")).content.decode()
    for kind in JOB_KINDS.values():
        disabled = "" if kind.startable_without_params else " disabled"
        assert f'<option value="{kind.name}"{disabled}>{kind.label}</option>' in page
    assert len(JOB_KINDS) > 5
