"""Claim: the vectorised exact metrics compute the paper's per-class AUROC + AP grid (30 seeds x
20 sparsities x 20,000 images x 20 classes) >= 10x faster than a scikit-learn loop, with a max
abs difference below 1e-12.

Data: long-tailed labels (prevalence 40% .. 0.2%), float32 sigmoid scores whose signal fades with
sparsity; at sparsity >= 0.85 the scores are quantised to 2-3 decimals to mimic the saturated,
heavily tied outputs of highly pruned models (the hard case for tie handling).

Ours: ``analysis.core.metrics.class_metrics`` on the whole [seeds, S, N, C] array in one call
(single thread, F1 included). Baseline: ``roc_auc_score`` and ``average_precision_score`` per
(seed, sparsity, class) -- 2 x seeds x S x C calls. Both run on the same grid in this run; with
``--sklearn-sets K`` the baseline runs on the first K (seed, sparsity) sets only and its time is
EXTRAPOLATED (printed as such). Peak memory: tracemalloc peak of a second, traced run of ours
(working memory on top of the input array) and the process's max RSS.

    .venv/bin/python bench/metrics.py            # full grid, full sklearn loop (~2-4 min)
    .venv/bin/python bench/metrics.py --quick    # 3 seeds
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.core.metrics import class_metrics  # noqa: E402


def make_grid(seeds: int, n_sparsity: int, n: int, c: int, rng: np.random.Generator):
    prev = np.geomspace(0.4, 0.002, c)
    labels = (rng.random((n, c)) < prev).astype(np.uint8)
    labels[0] = 1  # every class has at least one positive
    sparsities = np.linspace(0, 0.95, n_sparsity)
    probs = np.empty((seeds, n_sparsity, n, c), dtype=np.float32)
    signal = (2.0 * labels - 1).astype(np.float32)
    for k, s in enumerate(sparsities):
        z = signal * np.float32(1.5 * (1 - s) ** 2) + rng.standard_normal((seeds, n, c), dtype=np.float32)
        p = 1 / (1 + np.exp(-z))
        if s >= 0.85:
            p = np.round(p, 2 if s >= 0.9 else 3)
        probs[:, k] = p
    return probs, labels


def sklearn_loop(probs: np.ndarray, labels: np.ndarray, sets: int) -> tuple[np.ndarray, np.ndarray, float]:
    seeds, n_s, _, c = probs.shape
    flat = probs.reshape(seeds * n_s, *probs.shape[2:])
    auc = np.full((sets, c), np.nan)
    ap = np.full((sets, c), np.nan)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(sets):
            for j in range(c):
                auc[i, j] = roc_auc_score(labels[:, j], flat[i, :, j])
                ap[i, j] = average_precision_score(labels[:, j], flat[i, :, j])
            if (i + 1) % n_s == 0:
                print(f"  sklearn: {i + 1}/{sets} sets, {time.perf_counter() - t0:.0f} s", flush=True)
    return auc, ap, time.perf_counter() - t0


def main() -> None:
    ap_ = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap_.add_argument("--seeds", type=int, default=30)
    ap_.add_argument("--sparsities", type=int, default=20)
    ap_.add_argument("--images", type=int, default=20_000)
    ap_.add_argument("--classes", type=int, default=20)
    ap_.add_argument("--quick", action="store_true", help="3 seeds (fast run; same per-set sizes)")
    ap_.add_argument("--sklearn-sets", type=int, default=0, help="time sklearn on this many sets only (extrapolated)")
    args = ap_.parse_args()
    seeds = 3 if args.quick else args.seeds
    rng = np.random.default_rng(0)
    probs, labels = make_grid(seeds, args.sparsities, args.images, args.classes, rng)
    n_sets = seeds * args.sparsities
    print(
        f"grid: {seeds} seeds x {args.sparsities} sparsities x {args.images:,} images x {args.classes} classes "
        f"= {n_sets * args.classes:,} (set, class) columns; probs {probs.nbytes / 2**20:.0f} MiB float32"
    )

    t0 = time.perf_counter()
    ours = class_metrics(probs, labels)
    t_ours = time.perf_counter() - t0
    print(f"ours    (AUROC + AP + F1, one call): {t_ours:8.2f} s", flush=True)

    tracemalloc.start()
    class_metrics(probs, labels)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    sets = min(args.sklearn_sets, n_sets) if args.sklearn_sets > 0 else n_sets
    auc_ref, ap_ref, t_sk = sklearn_loop(probs, labels, sets)
    calls = 2 * sets * args.classes
    if sets < n_sets:
        t_sk_full = t_sk * n_sets / sets
        print(f"sklearn (AUROC + AP, {calls:,} calls on {sets} of {n_sets} sets): {t_sk:8.2f} s")
        print(f"sklearn EXTRAPOLATED to the full grid ({2 * n_sets * args.classes:,} calls): {t_sk_full:8.2f} s")
    else:
        t_sk_full = t_sk
        print(f"sklearn (AUROC + AP, {calls:,} calls, full grid, measured): {t_sk:8.2f} s")

    flat_auc = ours.auc.reshape(n_sets, -1)[:sets]
    flat_ap = ours.ap.reshape(n_sets, -1)[:sets]
    diff = max(np.nanmax(np.abs(flat_auc - auc_ref)), np.nanmax(np.abs(flat_ap - ap_ref)))
    assert np.array_equal(np.isnan(flat_auc), np.isnan(auc_ref)), "NaN pattern differs"
    print(f"max abs difference (AUROC, AP) vs sklearn: {diff:.3e}")
    assert diff < 1e-12, f"difference {diff} >= 1e-12"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak memory: ours' working memory {peak / 2**20:.0f} MiB (tracemalloc, on top of the input); "
        f"process max RSS {rss:.0f} MiB"
    )
    label = "measured" if sets == n_sets else "sklearn EXTRAPOLATED"
    print(f"speed-up (sklearn / ours, {label}): {t_sk_full / t_ours:.1f}x")


if __name__ == "__main__":
    main()
