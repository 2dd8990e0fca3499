"""Writes for the analysis app: create a report (and the job that computes it), or run it again.

The checks here are cheap (files and folders exist, names fit); the job does the full validation
when it reads the files, and records any mismatch as the job's error.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction

from analysis.models import Report
from analysis.reports import import_roots as import_roots_module
from analysis.reports.errors import ReportRequestError
from analysis.reports.import_roots import ImportPathError
from analysis.reports.paper_inputs import paper_label_path, paper_prediction_files
from config.roles import actor
from jobs.models import Job
from jobs.services import job_create

JOB_KIND = "analysis"
PAPER_DATASETS = ("nih-cxr-lt", "mimic-cxr-lt")


def reports_root() -> Path:
    return Path(settings.ARTIFACT_ROOT) / "reports"


def _create(report: Report, user) -> Report:
    """Save the report, give it its folder and enqueue its job (after the transaction commits)."""
    report.created_by = actor(user)
    report.full_clean(exclude=["out_dir", "job"])
    with transaction.atomic():
        report.save()
        report.out_dir = str(reports_root() / str(report.pk))
        report.job = _new_job(report, user)
        report.save(update_fields=["out_dir", "job"])
    return report


def _new_job(report: Report, user) -> Job:
    return job_create(kind=JOB_KIND, params={"report_id": report.pk}, user=user, artifact_dir=report.out_dir)


def check_prunecxr_inputs(*, preds_dir: str, labels_dir: str, dataset: str) -> None:
    """Folder exists and holds prediction files for ``dataset``; both label files exist."""
    if not dataset or "/" in dataset or "\\" in dataset:
        raise ReportRequestError(f"Dataset name {dataset!r} is not valid (e.g. {', '.join(PAPER_DATASETS)}).")
    preds, labels = Path(preds_dir), Path(labels_dir)
    if not preds.is_dir():
        raise ReportRequestError(f"Predictions folder {preds} does not exist.")
    if not paper_prediction_files(preds, dataset):
        raise ReportRequestError(
            f"Predictions folder {preds} has no files named {dataset}_resnet50_seed-<s>_prune-<r>.pkl."
        )
    if not labels.is_dir():
        raise ReportRequestError(f"Labels folder {labels} does not exist.")
    for split in ("train", "test"):
        path = paper_label_path(labels, dataset, split)
        if not path.is_file():
            raise ReportRequestError(f"Label file {path} does not exist.")


def check_store_inputs(*, prediction_paths: list[str], dataset_spec: dict, **optional: str | None) -> None:
    if not prediction_paths:
        raise ReportRequestError("No prediction stores given.")
    for p in prediction_paths:
        if not Path(p).is_file():
            raise ReportRequestError(f"Prediction store {p} does not exist.")
    if not isinstance(dataset_spec, dict) or not dataset_spec.get("kind"):
        raise ReportRequestError(f"Dataset spec {dataset_spec!r} needs a 'kind' (e.g. synthetic, nih-cxr-lt, csv).")
    for name, p in optional.items():
        if p and not Path(p).is_file():
            raise ReportRequestError(f"{name.replace('_', ' ').capitalize()} {p} does not exist.")


def report_create(
    *,
    title: str,
    prediction_paths: list[str],
    dataset_spec: dict,
    pie_table_path: str | None = None,
    checkpoint_path: str | None = None,
    experiment=None,
    pie_selection_id: int | None = None,
    user=None,
) -> Report:
    """A report over prediction stores (one per seed); its "analysis" job is queued on commit."""
    paths = [str(p) for p in prediction_paths]
    check_store_inputs(
        prediction_paths=paths, dataset_spec=dataset_spec, pie_table=pie_table_path, checkpoint=checkpoint_path
    )
    report = Report(
        title=title,
        source=Report.Source.EXPERIMENT if experiment is not None else Report.Source.STORES,
        experiment=experiment,
        prediction_paths=paths,
        dataset_spec=dataset_spec,
        pie_table_path=str(pie_table_path or ""),
        pie_selection_id=pie_selection_id,
        checkpoint_path=str(checkpoint_path or ""),
    )
    return _create(report, user)


def report_create_from_prunecxr(*, title: str, preds_dir: str, labels_dir: str, dataset: str, user=None) -> Report:
    """A report over the paper's released files (see analysis.reports.paper_inputs.load_paper_layout).

    Only from the import roots: these are pickles (see analysis.reports.import_roots)."""
    preds_dir, labels_dir = str(check_inside_import_roots(preds_dir)), str(check_inside_import_roots(labels_dir))
    check_prunecxr_inputs(preds_dir=preds_dir, labels_dir=labels_dir, dataset=dataset)
    report = Report(
        title=title,
        source=Report.Source.PRUNECXR,
        prunecxr_dir=str(preds_dir),
        labels_dir=str(labels_dir),
        dataset_name=dataset,
    )
    return _create(report, user)


def report_create_for_experiment(*, experiment, user=None) -> Report:
    """A report over an experiment's finished sweep stores, its dataset's labels, its PIE table and the
    checkpoint of its first training run (for the weight histogram)."""
    from analysis.reports.experiments import experiment_inputs

    inputs = experiment_inputs(experiment)
    return report_create(
        title=inputs.title,
        prediction_paths=inputs.prediction_paths,
        dataset_spec=inputs.dataset_spec,
        pie_table_path=inputs.pie_table_path,
        checkpoint_path=inputs.checkpoint_path,
        experiment=experiment,
        pie_selection_id=inputs.pie_selection_id,
        user=user,
    )


def report_rerun(*, report: Report, user=None) -> Job:
    """Compute the report again with a new job; the old outputs stay visible until the new ones replace
    them in one step (the runner skips the work when no input changed)."""
    with transaction.atomic():
        job = _new_job(report, user)
        Report.objects.filter(pk=report.pk).update(job=job)
    report.job = job
    return job


def check_inside_import_roots(path: str) -> Path:
    try:
        return import_roots_module.check_inside_import_roots(path)
    except ImportPathError as exc:
        raise ReportRequestError(str(exc)) from None


import_roots = import_roots_module.import_roots


def report_figure_draw(*, report: Report, name: str) -> Path | None:
    """Draw a figure's SVG or PDF on its first download (from the report's figure data) and return
    its path; None when ``name`` is not such a figure. Concurrent first downloads are harmless:
    each writes a temp file and renames it into place."""
    from analysis.reports.selectors import report_figure_to_draw

    todo = report_figure_to_draw(report=report, name=name)
    if todo is None:
        return None
    from analysis.core.figure_data import render_figure  # matplotlib: only on a first download

    return render_figure(report.out_dir, *todo)
