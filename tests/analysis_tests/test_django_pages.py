"""Report pages: list with live status, detail with figures inline and the key numbers, downloads that
check the role and never leave the report folder, and the "New report" form."""

import json
import shutil
from pathlib import Path

import pytest

from analysis.models import Report
from analysis.reports import services
from jobs.models import Job
from tests.analysis_tests.django_fixtures import CLASSES, DATASET, PREVALENCE, write_paper_layout

pytestmark = pytest.mark.django_db
FIGURES = ["fig1_overall", "fig2_curves", "fig3_frequency", "fig4_cooccurrence", "fig5_pies"]


@pytest.fixture(scope="module")
def computed(tmp_path_factory):
    """One computed report folder (the same code path as the job), shared by the module's tests."""
    from analysis.reports.paper_inputs import load_paper_layout

    root = tmp_path_factory.mktemp("computed")
    layout = write_paper_layout(root)
    inputs = load_paper_layout(layout["preds"], layout["labels"], DATASET)
    inputs.compute(experiment="tiny", n_boot=50, n_perm=19).write(root / "out")
    return {"out": root / "out", **layout}


@pytest.fixture
def report(computed, settings, tmp_path, researcher):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    job = Job.objects.create(kind="analysis", status=Job.Status.SUCCEEDED)
    report = Report.objects.create(
        title="Tiny NIH",
        source=Report.Source.PRUNECXR,
        prunecxr_dir=str(computed["preds"]),
        labels_dir=str(computed["labels"]),
        dataset_name=DATASET,
        job=job,
        created_by=researcher,
    )
    out = Path(settings.ARTIFACT_ROOT) / "reports" / str(report.pk)
    shutil.copytree(computed["out"], out)
    report.out_dir = str(out)
    report.summary = json.loads((out / "summary.json").read_text())
    report.save()
    job.params = {"report_id": report.pk}
    job.save()
    return report


def url(report, suffix=""):
    return f"/reports/{report.pk}/{suffix}"


def test_report_list_is_the_researchers_landing_page_with_live_status_rows(researcher_client, report):
    assert researcher_client.get("/").url == "/reports/"
    html = researcher_client.get("/reports/").content.decode()
    assert "Tiny NIH" in html and f'data-job="{report.job.pk}"' in html and 'data-field="bar"' in html
    assert "js/jobs.js" in html and "/jobs/status.json" in html


def test_report_detail_shows_every_figure_inline(researcher_client, report):
    html = researcher_client.get(url(report)).content.decode()
    for name in FIGURES:
        assert f'src="/reports/{report.pk}/files/{name}.png"' in html, name
        for fmt in ("svg", "pdf"):
            assert f"/reports/{report.pk}/files/{name}.{fmt}" in html


def test_report_detail_shows_correlations_beside_the_papers_values(researcher_client, report):
    html = researcher_client.get(url(report)).content.decode()
    corr = report.summary["correlations"]["delta_ap_95_vs_log_train_freq"]
    assert "AP change at 95% sparsity vs log train frequency" in html
    assert f"{corr['r']:.2f}" in html and f"{corr['rho']:.2f}" in html
    assert "0.80 / 0.75" in html and "0.76 / 0.75" in html, "paper NIH and MIMIC values for the same relationship"
    assert "-0.43 / -0.47" in html
    assert f"{report.summary['dense_map']:.3f}" in html and ">PIEs<" in html


def test_class_summary_is_sorted_by_train_frequency(researcher_client, report):
    html = researcher_client.get(url(report)).content.decode()
    table = html[html.index('data-testid="class-summary"') :]
    positions = [table.index(f"<td>{c}</td>") for c in CLASSES]
    by_prevalence = [c for _, c in sorted(zip(-PREVALENCE, CLASSES, strict=True))]
    assert [c for _, c in sorted(zip(positions, CLASSES, strict=True))] == by_prevalence


def test_readers_get_403_on_every_report_page(reader_a_client, report):
    for path in (
        "/reports/",
        "/reports/new/",
        url(report),
        url(report, "files/summary.json"),
        url(report, "files/fig1_overall.png"),
    ):
        assert reader_a_client.get(path).status_code == 403, path
    assert reader_a_client.post(url(report, "rerun/")).status_code == 403


@pytest.mark.parametrize(
    ("name", "content_type", "attachment"),
    [
        ("class_summary.csv", "text/csv", True),
        ("summary.json", "application/json", True),
        ("fig3_frequency.png", "image/png", False),
        ("fig3_frequency.svg", "image/svg+xml", True),
        ("fig3_frequency.pdf", "application/pdf", True),
    ],
)
def test_downloads_serve_tables_figures_and_the_summary(researcher_client, report, name, content_type, attachment):
    response = researcher_client.get(url(report, f"files/{name}"))
    assert response.status_code == 200 and response["Content-Type"].startswith(content_type)
    assert ("attachment" in response.get("Content-Disposition", "")) is attachment
    body = b"".join(response.streaming_content)
    assert body == (Path(report.out_dir) / name).read_bytes()


def test_every_table_of_the_report_is_linked_for_download(researcher_client, report):
    html = researcher_client.get(url(report)).content.decode()
    for name in ("class_metrics", "overall", "forgettability", "class_summary", "fcd_pairs", "pies"):
        assert f'href="/reports/{report.pk}/files/{name}.csv"' in html, name
    assert f'href="/reports/{report.pk}/files/summary.json"' in html


def test_downloads_refuse_path_traversal_links_hidden_and_unknown_files(researcher_client, report, tmp_path):
    out = Path(report.out_dir)
    (out / "notes.txt").write_text("not a report file")
    (out / "escape.csv").symlink_to(Path(__file__).resolve())
    for name in (
        "../../config/settings.py",
        "..%2F..%2Fconfig%2Fsettings.py",
        "%2Fetc%2Fpasswd",
        "..",
        "manifest.json/../summary.json",
        ".manifest.json",
        "notes.txt",
        "escape.csv",
        "missing.csv",
    ):
        assert researcher_client.get(url(report, f"files/{name}")).status_code == 404, name


def test_a_report_that_is_still_running_says_so_and_shows_its_progress(researcher_client, report):
    Job.objects.filter(pk=report.job.pk).update(
        status=Job.Status.RUNNING, progress_done=300, progress_total=1000, progress_message="metrics"
    )
    Report.objects.filter(pk=report.pk).update(summary={})
    html = researcher_client.get(url(report)).content.decode()
    assert 'data-testid="not-ready"' in html and 'data-status="running"' in html and "metrics" in html


def test_a_failed_report_shows_the_jobs_error(researcher_client, report):
    Job.objects.filter(pk=report.job.pk).update(status=Job.Status.FAILED, error="AnalysisInputError: x.csv: bad")
    Report.objects.filter(pk=report.pk).update(summary={})
    assert "x.csv: bad" in researcher_client.get(url(report)).content.decode()


def test_new_report_form_offers_the_papers_layout_and_experiments(researcher_client):
    html = researcher_client.get("/reports/new/").content.decode()
    assert 'name="preds_dir"' in html and 'name="labels_dir"' in html and "nih-cxr-lt" in html
    assert 'name="experiment"' in html


def test_new_report_form_explains_bad_folders(researcher_client, settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    imports = settings.ARTIFACT_ROOT / "imports"
    imports.mkdir(parents=True)
    form = {"source": "prunecxr", "dataset": DATASET}
    html = researcher_client.post("/reports/new/", {**form}).content.decode()
    assert "Required for the paper&#x27;s layout." in html
    html = researcher_client.post("/reports/new/", {**form, "preds_dir": "/etc", "labels_dir": "/etc"}).content.decode()
    assert "/etc is outside the folders reports may read from" in html
    html = researcher_client.post(
        "/reports/new/", {**form, "preds_dir": str(imports), "labels_dir": str(imports)}
    ).content.decode()
    assert "has no files named nih-cxr-lt_resnet50_seed-&lt;s&gt;_prune-&lt;r&gt;.pkl" in html
    assert not Report.objects.exists()


def test_new_report_form_starts_a_report_from_the_papers_layout(researcher_client, settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    layout = write_paper_layout(settings.ARTIFACT_ROOT / "imports" / "nih")
    response = researcher_client.post(
        "/reports/new/",
        {
            "source": "prunecxr",
            "dataset": DATASET,
            "title": "From the form",
            "preds_dir": str(layout["preds"]),
            "labels_dir": str(layout["labels"]),
        },
    )
    report = Report.objects.get()
    assert response.status_code == 302 and response.url == f"/reports/{report.pk}/"
    assert report.title == "From the form" and report.job.kind == "analysis"
    assert report.created_by.username == "researcher1"


def test_admins_can_compute_a_report_again(admin_client_, report):
    old_job = report.job.pk
    response = admin_client_.post(url(report, "rerun/"))
    report.refresh_from_db()
    assert response.status_code == 302 and report.job.pk != old_job and report.job.status == Job.Status.QUEUED


def test_services_refuse_to_start_a_report_whose_folder_is_empty(settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path
    with pytest.raises(services.ReportRequestError, match="does not exist"):
        services.report_create_from_prunecxr(
            title="x", preds_dir=str(tmp_path / "no"), labels_dir=str(tmp_path), dataset=DATASET
        )


def test_the_page_knows_every_figure_the_core_writes():
    from analysis.core import FIGURE_NAMES
    from analysis.reports.selectors import FIGURES as PAGE_FIGURES
    from analysis.reports.who import WHO_FIGURES

    assert [name for name, _ in PAGE_FIGURES + WHO_FIGURES] == list(FIGURE_NAMES)


def test_a_figures_pdf_is_drawn_on_its_first_download_and_served_from_disk_after(researcher_client, report):
    pdf = Path(report.out_dir) / "fig4_cooccurrence.pdf"
    assert not pdf.exists(), "only PNGs are drawn when the report is computed"
    first = researcher_client.get(url(report, "files/fig4_cooccurrence.pdf"))
    assert first.status_code == 200 and b"".join(first.streaming_content)[:5] == b"%PDF-"
    assert pdf.is_file()
    mtime = pdf.stat().st_mtime_ns
    researcher_client.get(url(report, "files/fig4_cooccurrence.pdf"))
    assert pdf.stat().st_mtime_ns == mtime, "the second download serves the file, it is not drawn again"


def test_only_known_figures_are_drawn_on_demand(researcher_client, report):
    for name in ("fig9_unknown.svg", "fig1_overall.eps", "summary.pdf", "../fig1_overall.svg"):
        assert researcher_client.get(url(report, f"files/{name}")).status_code == 404, name
    (Path(report.out_dir) / "figure_data.json").unlink()
    assert researcher_client.get(url(report, "files/fig1_overall.svg")).status_code == 404, "no data, no drawing"


def test_report_detail_says_which_synthetic_findings_hold_with_their_p_values(researcher_client, report):
    truth = {
        "low_quality": {"pie_rate": 0.2, "non_pie_rate": 0.1, "p": 0.0012},
        "subtle_finding": {"pie_rate": 0.05, "non_pie_rate": 0.1, "p": 0.2},
        "true_findings": {"pie_mean": 1.5, "non_pie_mean": 0.7, "p": 1e-6},
    }
    report.summary = {**report.summary, "pie": {**(report.summary.get("pie") or {}), "hidden_truth": truth}}
    report.save()
    html = researcher_client.get(url(report)).content.decode()
    panel = html[html.index('data-testid="synthetic-findings"') :]
    panel = panel[: panel.index("</table>")]
    assert "PIEs 20.0% vs non-PIEs 10.0%" in panel and "0.0012" in panel
    rows = {r.split("</td>")[0]: r for r in panel.split("<tr><td>")[1:]}
    verdict = {k.split(" (")[0]: "<strong>holds</strong>" in r for k, r in rows.items()}
    assert verdict["PIEs are enriched for poor image quality"]
    assert verdict["PIEs carry more findings per image than non-PIEs"]
    assert not verdict["PIEs are enriched for subtle findings"]


def test_report_detail_has_no_synthetic_findings_panel_without_hidden_truth(researcher_client, report):
    assert 'data-testid="synthetic-findings"' not in researcher_client.get(url(report)).content.decode()
