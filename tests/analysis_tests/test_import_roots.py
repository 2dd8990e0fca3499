"""Pickle imports (issue 10, hole 4): the worker re-checks every file it unpickles, the admin cannot edit a
report's folders, and the service accepts only folders inside the import roots."""

import os
from pathlib import Path

import pytest
from django.urls import reverse

from analysis.models import Report
from analysis.reports import runners, services
from analysis.reports.import_roots import ImportPathError, check_import_file
from pruning.models import Job

from .django_fixtures import DATASET, write_paper_layout

pytestmark = pytest.mark.django_db


@pytest.fixture
def roots(settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    settings.ARTIFACT_ROOT.mkdir()
    settings.ANALYSIS_IMPORT_ROOTS = [tmp_path / "imports"]
    return tmp_path / "imports"


def test_the_service_refuses_folders_outside_the_import_roots(roots, tmp_path):
    layout = write_paper_layout(tmp_path / "elsewhere")
    with pytest.raises(services.ReportRequestError, match="outside the folders reports may read from"):
        services.report_create_from_prunecxr(
            title="x", preds_dir=str(layout["preds"]), labels_dir=str(layout["labels"]), dataset=DATASET
        )
    assert not Report.objects.exists()


def test_the_worker_refuses_a_symlinked_pickle_even_inside_a_root(roots, tmp_path):
    layout = write_paper_layout(roots / "nih")
    report = services.report_create_from_prunecxr(
        title="x", preds_dir=str(layout["preds"]), labels_dir=str(layout["labels"]), dataset=DATASET
    )
    # After the form's check, one pickle is swapped for a symlink to a file outside every root.
    victim = sorted(layout["preds"].glob("*.pkl"))[0]
    outside = tmp_path / "evil.pkl"
    os.replace(victim, outside)
    victim.symlink_to(outside)
    with pytest.raises(ImportPathError, match="symbolic link"):
        runners.load_report_inputs(report)


def test_the_worker_rechecks_the_folder_of_an_edited_report_at_rerun(roots, tmp_path):
    layout = write_paper_layout(roots / "nih")
    report = services.report_create_from_prunecxr(
        title="x", preds_dir=str(layout["preds"]), labels_dir=str(layout["labels"]), dataset=DATASET
    )
    elsewhere = write_paper_layout(tmp_path / "elsewhere")
    Report.objects.filter(pk=report.pk).update(prunecxr_dir=str(elsewhere["preds"]))  # e.g. an older admin form
    report.refresh_from_db()
    services.report_rerun(report=report)
    with pytest.raises(ImportPathError, match="outside the folders"):
        runners.load_report_inputs(report)


def test_a_symlinked_folder_component_is_refused(roots, tmp_path):
    real = write_paper_layout(tmp_path / "real")
    roots.mkdir(parents=True, exist_ok=True)
    (roots / "link").symlink_to(real["preds"])
    some = next((roots / "link").glob("*.pkl"))
    with pytest.raises(ImportPathError, match="symbolic link"):
        check_import_file(some)


def test_the_admin_cannot_edit_a_reports_input_folders(roots, admin_client_, tmp_path):
    layout = write_paper_layout(roots / "nih")
    report = services.report_create_from_prunecxr(
        title="x", preds_dir=str(layout["preds"]), labels_dir=str(layout["labels"]), dataset=DATASET
    )
    url = reverse("admin:analysis_report_change", args=[report.pk])
    html = admin_client_.get(url).content.decode()
    for field in ("prunecxr_dir", "labels_dir", "prediction_paths", "pie_table_path", "checkpoint_path"):
        assert f'name="{field}"' not in html, field
    admin_client_.post(url, {"title": "renamed", "prunecxr_dir": "/tmp", "labels_dir": "/tmp"})
    report.refresh_from_db()
    assert report.prunecxr_dir == str(layout["preds"].resolve())
    assert Job.objects.count() == 1


def test_check_import_file_accepts_a_real_file_inside_a_root(roots):
    layout = write_paper_layout(roots / "nih")
    path = next(layout["preds"].glob("*.pkl"))
    assert check_import_file(path) == Path(path).absolute()
