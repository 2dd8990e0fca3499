"""The artifacts of `make docker-smoke`'s experiment, checked from inside the web container (fed on stdin:
it is not part of the image). Exit 0 and one line per check when the worker did everything end to end.

    docker exec -i WEB_CONTAINER python - EXPERIMENT_NAME < docker/smoke_check.py
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import django
import numpy as np

PNG = b"\x89PNG\r\n\x1a\n"


def fail(message: str) -> None:
    print(f"smoke check FAILED: {message}")
    sys.exit(1)


def check(name: str) -> list[str]:
    from django.conf import settings

    from jobs.models import Job
    from pruning.models import Experiment

    lines = []
    exp = Experiment.objects.filter(name=name).first() or fail(f"no experiment named {name!r}")
    not_done = list(Job.objects.exclude(status=Job.Status.SUCCEEDED).values_list("id", "kind", "status", "error"))
    if exp.job is None or exp.job.status != Job.Status.SUCCEEDED or not_done:
        fail(f"jobs not all succeeded: experiment job {exp.job_id}, others {not_done}")
    lines.append(f"experiment #{exp.id}: {Job.objects.count()} jobs, all succeeded")
    for run in exp.runs.order_by("seed"):
        ckpt = Path(run.checkpoint_path) if run.checkpoint_path else run.out_dir / "best.pt"
        if not ckpt.is_file() or ckpt.stat().st_size == 0:
            fail(f"seed {run.seed}: no checkpoint at {ckpt}")
        with open(run.history_path) as f:
            epochs = list(csv.DictReader(f))
        val = [float(r["loss"]) for r in epochs if r["phase"] == "val"]  # a train and a val row per epoch
        if not 1 <= len(val) <= exp.epochs or not np.isfinite(val).all():
            fail(f"seed {run.seed}: validation losses {val} for at most {exp.epochs} epochs")
        with np.load(run.sweep.store_path) as store:
            probs, sparsities = store["probs"], store["sparsities"]
        if probs.ndim != 3 or probs.shape[0] != len(exp.sparsities) or not np.allclose(sparsities, exp.sparsities):
            fail(f"seed {run.seed}: predictions {probs.shape} for {len(exp.sparsities)} sparsities")
        if not (np.isfinite(probs).all() and probs.min() >= 0 and probs.max() <= 1):
            fail(f"seed {run.seed}: predictions are not probabilities")
        owner = ckpt.stat().st_uid
        if owner != 1000:
            fail(f"seed {run.seed}: checkpoint owned by uid {owner}, not the app user")
        lines.append(f"seed {run.seed}: checkpoint {ckpt.stat().st_size} B, predictions {probs.shape}")
    selection = exp.pie_selections.first() or fail("no PIE selection")
    with open(selection.table_path) as f:
        rows = list(csv.DictReader(f))
    if not selection.n_pies or len(rows) != selection.n_images:
        fail(f"PIE table: {len(rows)} rows, n_images {selection.n_images}, n_pies {selection.n_pies}")
    lines.append(f"PIEs: {selection.n_pies} of {selection.n_images} test images")
    figures = sorted(Path(settings.ARTIFACT_ROOT, "reports").glob("*/fig*.png"))
    if len(figures) < 5 or any(p.read_bytes()[:8] != PNG for p in figures):
        fail(f"report figures: {[p.name for p in figures]}")
    lines.append(f"report: {len(figures)} PNG figures")
    return lines


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, os.getcwd())
    django.setup()
    for line in check(sys.argv[1]):
        print(line)
