"""The report page, downloads and API of the "who is forgotten" sections."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.models import Report
from jobs.models import Job
from tests.analysis_tests.django_fixtures import DATASET, N_TEST, write_paper_layout

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def computed(tmp_path_factory):
    from analysis.reports.paper_inputs import load_paper_layout

    root = tmp_path_factory.mktemp("who")
    layout = write_paper_layout(root)
    rng = np.random.default_rng(0)
    meta = pd.DataFrame(
        {
            "image_id": [f"img{i:04d}.png" for i in range(N_TEST)],
            "sex": rng.choice(["M", "F"], N_TEST),
            "view": rng.choice(["PA", "AP"], N_TEST),
        }
    )
    meta.to_csv(root / "meta.csv", index=False)
    inputs = load_paper_layout(layout["preds"], layout["labels"], DATASET, metadata_path=root / "meta.csv")
    inputs.compute(experiment="who", n_boot=50, n_perm=19, n_boot_who=50, n_boot_pies=3).write(root / "out")
    return {"out": root / "out", **layout}


@pytest.fixture
def report(computed, settings, tmp_path, researcher):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    job = Job.objects.create(kind="analysis", status=Job.Status.SUCCEEDED)
    report = Report.objects.create(
        title="Who", source=Report.Source.PRUNECXR, prunecxr_dir=str(computed["preds"]),
        labels_dir=str(computed["labels"]), dataset_name=DATASET, job=job, created_by=researcher,
    )  # fmt: skip
    out = Path(settings.ARTIFACT_ROOT) / "reports" / str(report.pk)
    shutil.copytree(computed["out"], out)
    report.out_dir = str(out)
    report.summary = json.loads((out / "summary.json").read_text())
    report.save()
    return report


def test_report_page_shows_each_section_with_sentences_figures_and_csv_links(researcher_client, report):
    html = researcher_client.get(f"/reports/{report.pk}/").content.decode()
    for key in ("subgroups", "calibration", "uncertainty"):
        assert f'data-testid="who-{key}"' in html
    for fig in ("fig_subgroups", "fig_calibration", "fig_risk_coverage", "fig_uncertainty"):
        assert f"/files/{fig}.png" in html and f"/files/{fig}.svg" in html
    for table in ("subgroup_gaps.csv", "underdiagnosis.csv", "calibration.csv", "uncertainty_auroc.csv"):
        assert f"/files/{table}" in html
    assert "underdiagnosis rate" in html and "Pooled ECE" in html and "PIE predictor" in html
    assert not re.search(r"\bnan\b", html, re.IGNORECASE)


def test_section_csvs_download_and_svgs_are_drawn_on_demand(researcher_client, report):
    resp = researcher_client.get(f"/reports/{report.pk}/files/subgroup_gaps.csv")
    assert resp.status_code == 200 and b"change_from_dense" in b"".join(resp.streaming_content)
    resp = researcher_client.get(f"/reports/{report.pk}/files/fig_subgroups.svg")
    assert resp.status_code == 200 and (Path(report.out_dir) / "fig_subgroups.svg").is_file()


def test_api_returns_the_sections_for_researchers_only(researcher_client, reader_a_client, report):
    data = researcher_client.get(f"/reports/api/reports/{report.pk}/who/").json()
    assert data["ready"] and data["level_name"] == "sparsity" and data["focus_level"] == 0.9
    assert [s["key"] for s in data["sections"]] == ["subgroups", "calibration", "uncertainty"]
    assert data["attributes"]["sex"] == N_TEST and data["sections"][0]["sentences"]
    assert reader_a_client.get(f"/reports/api/reports/{report.pk}/who/").status_code == 403
    assert researcher_client.get("/reports/api/reports/99999/who/").status_code == 404
