"""The cross-method report of an experiment (or of stores given on the command line): load every
method's prediction stores, compute per-class AP and each method's PIEs, and call the pure
``analysis.core.methods_report.compare``. Output folder: ``<experiment>/methods-report/``."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from analysis.reports.inputs import AnalysisInputError, load_stores

REPORT_DIR = "methods-report"


def _costs(paths: list[Path]) -> dict[float, dict]:
    from pruning.engine.store import read_sidecar

    for p in paths:
        costs = read_sidecar(p).get("costs")
        if costs:
            return {float(k): v for k, v in costs.items()}
    return {}


def group_stores(paths) -> dict[str, list[Path]]:
    """Stores by the method their sidecar names (a store without one is the paper's ``l1``)."""
    from pruning.engine.store import read_sidecar

    groups: dict[str, list[Path]] = defaultdict(list)
    for p in map(Path, paths):
        groups[read_sidecar(p).get("method", "l1")].append(p)
    return dict(groups)


def method_runs(groups: dict[str, list[Path]], dataset_spec: dict, *, pie_q: float = 0.05, progress=None):
    """``MethodRun`` per method, plus the train counts and class names they share."""
    from analysis.core.methods import MethodRun
    from analysis.core.metrics import class_metrics
    from analysis.core.pies import pie_mask
    from pruning.engine import compress

    runs, first = [], None
    for name, paths in groups.items():
        spec = compress.get(name)
        inputs = load_stores(sorted(paths), dataset_spec, pie_sparsity=spec.heavy_level, pie_q=pie_q)
        if first is None:
            first = inputs
        elif inputs.seeds != first.seeds or inputs.image_ids != first.image_ids:
            raise AnalysisInputError(
                f"{name}: seeds {inputs.seeds} or test images differ from {runs[0].name}'s ({first.seeds})"
            )
        ap = class_metrics(inputs.probs, inputs.labels_test).ap  # [seeds, levels, classes]
        pies = pie_mask(inputs.pie_table, len(inputs.image_ids)) if inputs.pie_table is not None else None
        levels = np.asarray(inputs.sparsities, float)
        runs.append(MethodRun(name, spec.family, levels, spec.heavy_level, ap, pies, _costs(paths)))
        if progress:
            progress(len(runs), len(groups), f"{name}: {len(paths)} seeds loaded")
    counts = np.asarray(first.labels_train).sum(axis=0)
    return runs, counts, list(first.class_names)


def build(paths, dataset_spec: dict, out: str | Path, *, pie_q: float = 0.05, n_boot: int = 2000, progress=None):
    """Compare every method among ``paths`` and write the report to ``out``; returns the comparison."""
    from analysis.core.methods_report import compare

    groups = group_stores(paths)
    if len(groups) < 2:
        raise AnalysisInputError(f"a comparison needs stores of two methods or more; found {sorted(groups)}")
    runs, counts, names = method_runs(groups, dataset_spec, pie_q=pie_q, progress=progress)
    comparison = compare(runs, counts, names, n_boot=n_boot)
    comparison.write(out)
    return comparison


def experiment_store_paths(experiment) -> list[Path]:
    """The experiment's own stores and those of its compared methods (finished ones only)."""
    from pruning.models import MethodSweep, PruningSweep

    own = PruningSweep.objects.filter(training_run__experiment=experiment, finished_at__isnull=False)
    others = MethodSweep.objects.filter(training_run__experiment=experiment, finished_at__isnull=False)
    return [s.store_path for s in own] + [s.store_path for s in others]


def experiment_report_dir(experiment) -> Path:
    return Path(experiment.artifact_dir) / REPORT_DIR


def experiment_build(experiment, progress=None):
    return build(
        experiment_store_paths(experiment),
        experiment.dataset.spec,
        experiment_report_dir(experiment),
        pie_q=experiment.pie_q,
        progress=progress,
    )


def experiment_summary(experiment) -> dict | None:
    """The written report's comparison.json, or None when it was not built yet."""
    path = experiment_report_dir(experiment) / "comparison.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())
