"""The cross-method report of an experiment: a job builds it, a page shows it, files download, and the
forgettability command writes the same report from the stores."""

import json

import pytest

from jobs.models import Job

pytest_plugins = ["tests.pruning_tests.django_support"]
pytestmark = pytest.mark.django_db


def test_the_cross_method_page_and_command_report_the_comparison_of_an_experiments_methods(
    synthetic_dataset, tiny_fields, no_analysis, admin_client_, researcher, researcher_client, monkeypatch, tmp_path
):
    from django.core.management import call_command

    from jobs.cli import run_tree_here
    from pruning.services_experiments import experiment_create

    monkeypatch.setenv("COMPRESS_COST_REPEATS", "1")
    fields = tiny_fields(synthetic_dataset, sparsities=[0, 0.5, 0.9], compare_methods=[{"method": "int8_dynamic"}])
    experiment = experiment_create(user=researcher, **fields)  # the researcher's own: others get 404
    assert run_tree_here(experiment.job.pk, lambda line: None) == Job.Status.SUCCEEDED
    url = f"/reports/experiments/{experiment.pk}/methods/"
    assert "Not computed yet" in researcher_client.get(url).content.decode()
    assert researcher_client.post(url + "build/").status_code in (302, 403)  # admins only
    assert admin_client_.post(url + "build/").status_code == 302
    job = Job.objects.get(kind="methods_report")
    assert run_tree_here(job.pk, lambda line: None) == Job.Status.SUCCEEDED
    page = researcher_client.get(url).content.decode()
    assert "int8_dynamic vs l1" in page and 'data-testid="pareto"' in page and 'data-testid="overlap"' in page
    png = researcher_client.get(url + "files/methods_pareto.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert researcher_client.get(url + "files/../../secret").status_code == 404
    api = researcher_client.get(f"/reports/api/experiments/{experiment.pk}/methods/").json()
    assert api["computed"] and api["methods"] == ["l1", "int8_dynamic"] and api["job_status"] == "succeeded"
    assert api["comparison"]["statements"][0].startswith("int8_dynamic vs l1")

    stores = [str(p) for p in sorted(experiment.artifact_dir.glob("seed-*/predictions*.npz"))]
    spec = json.dumps(synthetic_dataset.spec)
    call_command("forgettability", "--compare", "--stores", *stores, "--dataset-spec", spec, "--out", str(tmp_path))
    assert (tmp_path / "comparison.json").is_file() and (tmp_path / "methods_curves.png").is_file()
