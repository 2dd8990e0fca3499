"""The "analysis" job: read a report's inputs, compute every table and figure, write its folder.

Idempotent: the folder holds a manifest with a fingerprint of the inputs (paths, sizes, mtimes,
parameters); a rerun with unchanged inputs and every file present skips the work. Otherwise the
new outputs are written to a staging folder next to the report folder and swapped in with two
renames, so a page never shows a mix of old and new files, and a crash or cancel leaves the old
report intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path

from analysis.models import Report
from analysis.reports.import_roots import check_import_file
from analysis.reports.inputs import AnalysisInputs, Progress, fingerprint, load_stores
from analysis.reports.paper_inputs import load_paper_layout, paper_label_path, paper_prediction_files
from jobs.attempts import fenced
from jobs.models import Job

MANIFEST = "manifest.json"
# Phases of the job's progress bar, in per-mille of the whole run.
LOAD, COMPUTE, WRITE = (0, 100), (100, 850), (850, 1000)


def _scaled(progress: Progress, span: tuple[int, int]) -> Progress:
    lo, hi = span

    def inner(done: int, total: int, message: str = "") -> None:
        frac = done / total if total else 1.0
        progress(lo + round((hi - lo) * min(frac, 1.0)), 1000, message)

    return inner


def report_params(report: Report) -> dict:
    """Everything about the inputs that changes the outputs (for the fingerprint)."""
    return {
        "source": report.source,
        "prediction_paths": report.prediction_paths,
        "dataset_spec": report.dataset_spec,
        "pie_table_path": report.pie_table_path,
        "checkpoint_path": report.checkpoint_path,
        "prunecxr_dir": report.prunecxr_dir,
        "labels_dir": report.labels_dir,
        "dataset_name": report.dataset_name,
        "title": report.title,
    }


def report_sources(report: Report) -> list[Path]:
    """The input files, listed without reading them."""
    if report.source == Report.Source.PRUNECXR:
        files = paper_prediction_files(report.prunecxr_dir, report.dataset_name)
        return [*files, *(paper_label_path(report.labels_dir, report.dataset_name, s) for s in ("train", "test"))]
    extra = [p for p in (report.pie_table_path, report.checkpoint_path) if p]
    return [Path(p) for p in [*report.prediction_paths, *extra]]


def load_report_inputs(report: Report, progress: Progress | None = None) -> AnalysisInputs:
    if report.source == Report.Source.PRUNECXR:
        # Checked here, in the worker, right before unpickling (and again at every rerun): the row may have
        # been edited since the form checked the folder, and a file may since have become a symlink.
        for path in report_sources(report):
            check_import_file(path)
        return load_paper_layout(report.prunecxr_dir, report.labels_dir, report.dataset_name, progress=progress)
    inputs = load_stores(
        report.prediction_paths,
        report.dataset_spec,
        pie_table_path=report.pie_table_path or None,
        checkpoint_path=report.checkpoint_path or None,
        progress=progress,
    )
    if inputs.pie_table is not None and report.pie_selection is not None and not inputs.pie_table.attrs:
        # A PIE table from pruning's selection job: its summary (cutoff, tie group, NaN count) is on the row.
        inputs.pie_table.attrs.update(report.pie_selection.summary or {})
    return inputs


def read_manifest(out: Path) -> dict | None:
    try:
        manifest = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not all((out / name).is_file() for name in manifest.get("files", [])):
        return None
    return manifest


def write_report_folder(rep, out: Path, fp: str, progress: Progress | None = None, publish=None) -> list[str]:
    """Write ``rep`` (an analysis.core ForgettabilityReport) to a staging folder, then swap it in for ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    stage, old = out.parent / f".{out.name}.staging-{tag}", out.parent / f".{out.name}.old-{tag}"
    try:
        if progress:
            progress(0, 1, "writing tables and figures")  # last chance for a cancel to stop the write
        written = rep.write(stage)
        names = sorted(p.name for p in written)
        (stage / MANIFEST).write_text(json.dumps({"fingerprint": fp, "files": names}, indent=1) + "\n")
        # ``publish`` (a job attempt's fence): only an attempt that still owns the job swaps its folder in.
        with publish() if publish is not None else contextlib.nullcontext():
            if out.exists():
                os.replace(out, old)
            os.replace(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    # No progress call after the swap: a cancel raised there would leave the new files without the
    # summary copy on the Report row. run_report reports completion once the row is updated.
    return names


def run_report(job: Job, progress: Progress) -> dict:
    """Runner of the "analysis" job kind: ``job.params = {"report_id": N}``."""
    report = Report.objects.get(pk=job.params["report_id"])
    out = Path(report.out_dir)
    fp = fingerprint(report_sources(report), report_params(report))
    manifest = read_manifest(out)
    if manifest and manifest.get("fingerprint") == fp:
        skipped = True
        names = manifest["files"]
    else:
        skipped = False
        inputs = load_report_inputs(report, progress=_scaled(progress, LOAD))
        rep = inputs.compute(experiment=report.title, progress=_scaled(progress, COMPUTE))
        names = write_report_folder(
            rep, out, fp, progress=_scaled(progress, WRITE), publish=getattr(progress, "fence", None)
        )
    summary = json.loads((out / "summary.json").read_text())
    with fenced(progress):  # as a job: only while this attempt still owns it
        Report.objects.filter(pk=report.pk).update(summary=summary)
    progress(1000, 1000, "already up to date" if skipped else "done")
    return {
        "report_id": report.pk,
        "out_dir": str(out),
        "files": len(names),
        "skipped": skipped,
        "n_pies": summary.get("n_pies"),
        "dense_map": summary.get("dense_map"),
    }
