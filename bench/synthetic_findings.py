"""Claim: at the default demo scale the pipeline recovers (or not: it says so) the paper's findings on the
synthetic CXR-LT, without ever reading the hidden truth.

Runs the demo's engine chain in this process, with the numbers of ``analysis.demo_scales`` (DEMO_SCALE
default unless --scale): render, train every seed, prune and predict at 20 sparsities, select PIEs (the
paper's definition: Spearman dense vs 90% sparse, lowest 5%), compute the report with its hidden-truth
panel, and print the three findings with their p-values (analysis.core.planted_findings), the PIE
diagnostics (leave-one-seed-out Jaccard), the time of each stage, and last the PIE / non-PIE ratios
(ours) against 1 (no enrichment: the baseline).

Every stage is cached under --out (same settings: reused), so changing --seeds only trains the new seeds
and the ensemble-size lever costs one seed at a time. Overrides (--seeds, --arch, --image-size, --epochs,
--n, --fractions) are the levers of the note's table.

    .venv/bin/python bench/synthetic_findings.py [--scale default] [--seeds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.core.planted_findings import findings_lines, synthetic_findings  # noqa: E402
from analysis.core.report import compute_report  # noqa: E402
from analysis.demo_scales import demo_scale  # noqa: E402
from pruning.engine.data import decode_images, load_synthetic  # noqa: E402
from pruning.engine.infer import sweep  # noqa: E402
from pruning.engine.nets import build_model  # noqa: E402
from pruning.engine.pie_diagnostics import diagnostics_from_sets  # noqa: E402
from pruning.engine.pies import select_pies_from_sets  # noqa: E402
from pruning.engine.synthetic import GENERATOR_VERSION, make_synthetic  # noqa: E402
from pruning.engine.train import TrainConfig, train_run  # noqa: E402

SPARSITIES = [round(0.05 * i, 2) for i in range(20)]


def key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:10]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="default")
    ap.add_argument("--seeds", type=int, help="number of seeds (0..N-1)")
    ap.add_argument("--arch")
    ap.add_argument("--image-size", type=int)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--n", type=int, help="images rendered")
    ap.add_argument("--fractions", help="train,val,test split fractions")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "synthetic_findings")
    a = ap.parse_args(argv)
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    s = demo_scale(a.scale)
    s = dataclasses.replace(
        s,
        seeds=list(range(a.seeds)) if a.seeds else s.seeds,
        arch=a.arch or s.arch,
        image_size=a.image_size or s.image_size,
        epochs=a.epochs or s.epochs,
        n_images=a.n or s.n_images,
        fractions=tuple(float(f) for f in a.fractions.split(",")) if a.fractions else s.fractions,
    )
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    t, c = time.perf_counter(), _cpu()
    data = a.out / f"data-{key(s.n_images, s.render_size, s.fractions, GENERATOR_VERSION)}"
    if not (data / "dataset.json").is_file():
        make_synthetic(data, s.n_images, s.render_size, 0, fractions=s.fractions)
    splits = load_synthetic(data)
    images = {k: decode_images(v.paths, s.image_size, cache_dir=a.out / "decoded") for k, v in splits.items()}
    times["render + decode"], cpu["render + decode"] = time.perf_counter() - t, _cpu() - c

    t, c = time.perf_counter(), _cpu()
    runs = a.out / f"runs-{key(data.name, s.arch, s.image_size, s.epochs, s.batch_size, s.lr, s.patience)}"
    sets = []
    names = list(splits["train"].class_names)
    for seed in s.seeds:
        config = TrainConfig(
            arch=s.arch, init="random", epochs=s.epochs, batch_size=s.batch_size, lr=s.lr, patience=s.patience,
            image_size=s.image_size, seed=seed, class_names=names,
        )  # fmt: skip
        out = train_run(
            config, images["train"], splits["train"].labels, images["val"], splits["val"].labels,
            runs / f"seed{seed}", resume=True,
        )  # fmt: skip
        model = build_model(s.arch, len(names), init=out["best_checkpoint"])
        sets.append(
            sweep(
                model,
                images["test"],
                SPARSITIES,
                out_path=runs / f"seed{seed}" / "predictions.npz",
                seed=seed,
                image_ids=list(splits["test"].ids),
                class_names=names,
                batch_size=256,
                image_size=s.image_size,
            )  # fmt: skip
        )
    times["train + sweep"], cpu["train + sweep"] = time.perf_counter() - t, _cpu() - c

    t, c = time.perf_counter(), _cpu()
    selection = select_pies_from_sets(sets, 0.9, 0.05)
    is_pie = selection.table["is_pie"].to_numpy()
    diagnostics = diagnostics_from_sets(
        sets, is_pie, splits["test"].labels, names, s.seeds, definition="spearman", sparsity=0.9, q=0.05
    )
    truth = pd.read_csv(data / "hidden_truth.csv").rename(columns={"id": "image_id"})
    report = compute_report(
        np.stack([p.probs for p in sets]), splits["test"].labels, splits["train"].labels, SPARSITIES, names,
        pie_table=selection.table, hidden_truth=truth, seeds=s.seeds, image_ids=list(splits["test"].ids), n_boot=200,
        n_perm=99,
    )  # fmt: skip
    times["PIEs + report"], cpu["PIEs + report"] = time.perf_counter() - t, _cpu() - c

    summary = report.summary
    print(
        f"scale {s.name}: {s.n_images} images ({len(splits['train'])}/{len(splits['val'])}/{len(splits['test'])}),"
        f" {s.arch} at {s.image_size} px, {len(s.seeds)} seeds x {s.epochs} epochs; dense mAUC"
        f" {summary['dense_mauc']:.3f}, mAP {summary['dense_map']:.3f}; {int(is_pie.sum())} PIEs"
    )
    f = diagnostics["findings_per_image"]
    print(
        f"PIE diagnostics: labelled findings per image PIEs {f['pie_mean']:.2f} vs non-PIEs {f['non_pie_mean']:.2f};"
        f" PIEs without a finding {f['pie_without_findings']:.0%} vs {f['non_pie_without_findings']:.0%};"
        f" leave-one-seed-out Jaccard mean {diagnostics['jaccard_mean'] or float('nan'):.2f}"
        + (f"; warning: {diagnostics['dominance_warning']}" if diagnostics["dominance_warning"] else "")
    )
    stages = ", ".join(f"{k} {v:.0f} / {cpu[k]:.0f} s" for k, v in times.items())
    print(f"time (wall / CPU incl. render workers): {stages}")
    for line in findings_lines(summary):
        print(line)
    found = synthetic_findings(summary)
    truth_panel = (summary.get("pie") or {}).get("hidden_truth") or {}
    ratios = {
        "low quality": _ratio(truth_panel.get("low_quality")),
        "subtle finding": _ratio(truth_panel.get("subtle_finding")),
        "true findings": _ratio(truth_panel.get("true_findings"), "pie_mean", "non_pie_mean"),
    }
    print(
        "ours (PIE / non-PIE): "
        + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items())
        + "; baseline (no enrichment): 1.00; ratio = ours / baseline"
    )
    return {"scale": dataclasses.asdict(s), "findings": found, "diagnostics": diagnostics, "times": times, "cpu": cpu}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the render workers), all threads."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _ratio(test: dict | None, a: str = "pie_rate", b: str = "non_pie_rate") -> float:
    if not test or not test.get(b):
        return float("nan")
    return test[a] / test[b]


if __name__ == "__main__":
    main()
