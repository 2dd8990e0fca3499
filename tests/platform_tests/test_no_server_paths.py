"""No page shows a server path or a traceback: a failed job's error, an experiment's artifact folder, a report's
dataset spec and a job's parameters reach the page as labels and one-line messages (details in the log)."""

import re

import pytest
from django.urls import reverse

from common.redact import public_text
from jobs.models import Job

pytestmark = pytest.mark.django_db
ABSOLUTE = re.compile(r"(?<![\w.:/<])/(?:home|work|root|tmp|var|etc|opt|srv|data|usr|mnt)\b[^\s<\"']*")

ERROR = (
    "DatasetError: cannot read /srv/secret-data/nih/images/00001.png\n\n"
    'Traceback (most recent call last):\n  File "/work/app/pruning/runners.py", line 12, in run\n'
    "    raise DatasetError(...)\nDatasetError: cannot read /srv/secret-data/nih/images/00001.png\n"
)


def test_public_text_keeps_the_message_and_labels_known_roots():
    text = public_text(ERROR, {"artifacts": "/srv/secret-data"})
    assert text == "DatasetError: cannot read artifacts/nih/images/00001.png"
    assert public_text("No file at /etc/passwd, sorry", {}) == "No file at <server path>, sorry"
    assert public_text("x/y/z 3/4 https://a.b/c", {}) == "x/y/z 3/4 https://a.b/c"


def test_failed_job_experiment_and_report_pages_show_no_server_path(settings, admin_client_, tmp_path):
    from analysis.models import Report

    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    job = Job.objects.create(
        kind="make_synthetic", status=Job.Status.FAILED, error=ERROR, artifact_dir=str(tmp_path / "artifacts" / "d"),
        params={"name": "syn", "out_dir": "/srv/secret-data/syn"},
    )  # fmt: skip
    report = Report.objects.create(
        title="R", source="stores", job=job, dataset_spec={"kind": "synthetic", "root": "/srv/secret-data/syn"}
    )
    pages = {
        "job": admin_client_.get(reverse("jobs:job_detail", args=[job.pk])).content.decode(),
        "jobs": admin_client_.get(reverse("jobs:job_list")).content.decode(),
        "report": admin_client_.get(reverse("analysis:report_detail", args=[report.pk])).content.decode(),
        "overview": admin_client_.get(reverse("overview")).content.decode(),
    }
    for name, page in pages.items():
        assert "Traceback" not in page, name
        assert not ABSOLUTE.findall(page.replace("/static/", "")), (name, ABSOLUTE.findall(page)[:3])
    assert "DatasetError: cannot read &lt;server path&gt;" in pages["job"]
