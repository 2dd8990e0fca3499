"""The "analysis" job: services create a report and its job; the runner writes the report folder
(idempotently) through jobs.execution.job_run, and once through a real Celery worker."""

import json
import os
from pathlib import Path

import pytest

from analysis.core.figure_data import render_figure
from analysis.models import Report
from analysis.reports import runners, services
from jobs.execution import job_run
from jobs.models import Job
from tests.analysis_tests.django_fixtures import DATASET, N_TEST, SEEDS, write_paper_layout, write_stores
from tests.conftest import wait_for_job

EXPECTED = [
    "class_metrics.csv",
    "class_summary.csv",
    "fcd_pairs.csv",
    "fig1_overall.png",
    "fig5_pies.png",
    "figure_data.json",
    "forgettability.csv",
    "overall.csv",
    "pies.csv",
    "summary.json",
]


@pytest.fixture
def artifacts(settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    settings.ANALYSIS_IMPORT_ROOTS = [tmp_path]  # the tests write the paper's files under tmp_path
    return settings.ARTIFACT_ROOT


@pytest.mark.django_db
def test_report_create_queues_an_analysis_job_and_gives_the_report_its_folder(artifacts, tmp_path, researcher):
    stores = write_stores(tmp_path)
    report = services.report_create(
        title="tiny", prediction_paths=stores["paths"], dataset_spec=stores["spec"], user=researcher
    )
    assert report.source == Report.Source.STORES and report.created_by == researcher
    assert report.job.kind == "analysis" and report.job.status == Job.Status.QUEUED
    assert report.job.params == {"report_id": report.pk}
    assert Path(report.out_dir) == artifacts / "reports" / str(report.pk)
    assert report.prediction_paths == [str(p) for p in stores["paths"]]


@pytest.mark.django_db
def test_report_create_refuses_inputs_that_do_not_exist(artifacts, tmp_path):
    with pytest.raises(services.ReportRequestError, match=r"Prediction store .*nope\.npz does not exist"):
        services.report_create(title="x", prediction_paths=[tmp_path / "nope.npz"], dataset_spec={"kind": "synthetic"})
    with pytest.raises(services.ReportRequestError, match=r"no files named nih-cxr-lt_resnet50_seed-<s>"):
        services.report_create_from_prunecxr(
            title="x", preds_dir=str(tmp_path), labels_dir=str(tmp_path), dataset=DATASET
        )
    assert not Report.objects.exists() and not Job.objects.exists()


@pytest.mark.django_db
def test_the_job_writes_the_report_and_running_it_again_skips_unchanged_inputs(artifacts, tmp_path):
    layout = write_paper_layout(tmp_path)
    report = services.report_create_from_prunecxr(
        title="paper layout", preds_dir=str(layout["preds"]), labels_dir=str(layout["labels"]), dataset=DATASET
    )
    assert job_run(job_id=report.job.pk) == Job.Status.SUCCEEDED, Job.objects.get(pk=report.job.pk).error
    job = Job.objects.get(pk=report.job.pk)
    out = Path(report.out_dir)
    for name in EXPECTED:
        assert (out / name).is_file(), name
    assert job.result["skipped"] is False and job.result["report_id"] == report.pk
    assert job.progress_done == job.progress_total == 1000
    report.refresh_from_db()
    assert report.summary == json.loads((out / "summary.json").read_text())
    assert report.summary["n_images"] == N_TEST and report.summary["seeds"] == list(SEEDS)
    assert [p.name for p in out.parent.iterdir()] == [out.name], "no staging folders left behind"

    before = (out / "summary.json").stat().st_mtime_ns
    again = services.report_rerun(report=report)
    assert job_run(job_id=again.pk) == Job.Status.SUCCEEDED
    assert Job.objects.get(pk=again.pk).result["skipped"] is True
    assert (out / "summary.json").stat().st_mtime_ns == before, "unchanged inputs are not recomputed"

    # A changed input file (new mtime) changes the fingerprint, so the next run recomputes.
    label = layout["labels"] / f"miccai2023_{DATASET}_labels_train.csv"
    os.utime(label, ns=(before + 10**9, before + 10**9))
    assert runners.read_manifest(out)["fingerprint"] != runners.fingerprint(
        runners.report_sources(report), runners.report_params(report)
    )


def test_writing_a_report_folder_swaps_it_in_whole_and_a_failed_write_keeps_the_old_one(tmp_path):
    class Written:
        def __init__(self, fail=False):
            self.fail = fail

        def write(self, out):
            out.mkdir(parents=True)
            (out / "summary.json").write_text("{}")
            if self.fail:
                raise RuntimeError("disk full")
            return [out / "summary.json"]

    out = tmp_path / "reports" / "1"
    out.mkdir(parents=True)
    (out / "stale.csv").write_text("old")
    assert runners.write_report_folder(Written(), out, "fp1") == ["summary.json"]
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "summary.json"], "old files are gone"
    with pytest.raises(RuntimeError):
        runners.write_report_folder(Written(fail=True), out, "fp2")
    assert runners.read_manifest(out)["fingerprint"] == "fp1", "a failed write leaves the previous report"
    assert [p.name for p in out.parent.iterdir()] == ["1"], "no staging folder left behind"


@pytest.mark.django_db
def test_a_bad_input_fails_the_job_with_a_message_naming_the_file(artifacts, tmp_path):
    layout = write_paper_layout(tmp_path)
    report = services.report_create_from_prunecxr(
        title="broken", preds_dir=str(layout["preds"]), labels_dir=str(layout["labels"]), dataset=DATASET
    )
    (layout["preds"] / f"{DATASET}_resnet50_seed-0_prune-0.95.pkl").unlink()
    assert job_run(job_id=report.job.pk) == Job.Status.FAILED
    error = Job.objects.get(pk=report.job.pk).error
    assert "seed 0 has no file for sparsity 0.95" in error and "seed-0_prune-0.95.pkl" in error
    assert not Path(report.out_dir).exists()


def _experiment(tmp_path, finished=True):
    """An experiment with two seeds' sweeps, a PIE selection (table written as pruning's job writes it)
    and a trained checkpoint, recorded as pruning records them."""
    import torch

    from pruning.engine.pies import select_pies_from_sets
    from pruning.engine.store import PredictionSet
    from pruning.models import Dataset, Experiment, PIESelection, PruningSweep, TrainingRun

    stores = write_stores(tmp_path)
    dataset = Dataset.objects.create(name="fake", kind="synthetic", spec=stores["spec"])
    exp = Experiment.objects.create(
        dataset=dataset, name="tiny", arch="tiny", seeds=list(SEEDS), sparsities=[0.0, 0.5, 0.9, 0.95]
    )
    ckpt = tmp_path / "seed-0" / "best.pt"
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(4, 5)
    )
    torch.save({"model": net.state_dict(), "epoch": 1}, ckpt)
    for seed, path in zip(SEEDS, stores["paths"], strict=True):
        run = TrainingRun.objects.create(experiment=exp, seed=seed, checkpoint_path=str(ckpt) if seed == 0 else "")
        done = "2026-01-01T00:00Z" if finished or seed == 0 else None
        PruningSweep.objects.create(training_run=run, predictions_path=str(path), finished_at=done)
    selection = select_pies_from_sets([PredictionSet.load(p) for p in stores["paths"]], sparsity=0.9, q=0.05)
    table = tmp_path / "pies.csv"
    table.write_text(selection.table.to_csv(index=False))
    PIESelection.objects.create(
        experiment=exp,
        sparsity=0.9,
        q=0.05,
        table_path=str(table),
        summary=selection.summary,
        finished_at="2026-01-01T00:00Z",
    )
    return exp, stores, ckpt, table


@pytest.mark.django_db
def test_report_for_an_experiment_gathers_its_stores_dataset_pies_and_a_checkpoint(artifacts, tmp_path, admin_user):
    exp, stores, ckpt, table = _experiment(tmp_path)
    report = services.report_create_for_experiment(experiment=exp, user=admin_user)
    assert report.source == Report.Source.EXPERIMENT and report.experiment == exp
    assert report.prediction_paths == [str(p) for p in stores["paths"]], "one store per seed, in seed order"
    assert report.dataset_spec == stores["spec"]
    assert report.pie_table_path == str(table) and report.checkpoint_path == str(ckpt)
    assert report.job.kind == "analysis"


@pytest.mark.django_db
def test_report_for_an_experiment_with_an_unfinished_sweep_names_the_seed(artifacts, tmp_path):
    exp, *_ = _experiment(tmp_path, finished=False)
    with pytest.raises(services.ReportRequestError, match=r"sweeps of seed\(s\) \[1\] are not finished"):
        services.report_create_for_experiment(experiment=exp)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_computes_an_experiments_report(celery_worker, artifacts, tmp_path):
    exp, *_ = _experiment(tmp_path)
    report = services.report_create_for_experiment(experiment=exp)
    job = wait_for_job(report.job.pk, timeout=120)
    assert job.status == Job.Status.SUCCEEDED, job.error
    report.refresh_from_db()
    assert report.summary["n_pies"] == int(0.05 * N_TEST)
    assert report.summary["pie"]["selection"]["tie_break"] == "image index ascending", "pruning's PIE summary"
    assert report.summary["pie"]["hidden_truth"] is not None, "the synthetic spec's hidden truth was used"
    for name in ("fig5_pies.png", "fig_weights.png", "figure_data.json"):
        assert (Path(report.out_dir) / name).is_file(), name
    assert render_figure(report.out_dir, "fig_weights", "pdf").read_bytes()[:5] == b"%PDF-", "drawn on demand"
