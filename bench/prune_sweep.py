"""Claim: one sort + nested masks makes a 20-sparsity pruning sweep >= 10x faster than re-running
torch.nn.utils.prune.global_unstructured from scratch at every sparsity (the paper's way).

ResNet50 (random init, 20-class head, 23.5M prunable weights), global L1 over every Conv2d and
Linear weight at sparsity 0, 0.05, ..., 0.95, on 2 CPU threads. Ours: PruneOrder.from_model once,
then .apply per sparsity. Baseline: per sparsity a fresh copy of the dense model (the paper reloads
the checkpoint) and global_unstructured(L1Unstructured, amount=r). Both count the zeros after
pruning (untimed); the counts must be identical at every sparsity. Prints ours, baseline, ratio (last).

    .venv/bin/python bench/prune_sweep.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.utils.prune as torch_prune

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pruning.engine.nets import build_model, prunable_modules  # noqa: E402
from pruning.engine.prune import PruneOrder  # noqa: E402

SPARSITIES = [i / 100 for i in range(0, 100, 5)]


def count_zeros(model) -> int:
    return sum(int((m.weight == 0).sum()) for _, m in prunable_modules(model))


def ours(model) -> tuple[float, list[int]]:
    """Seconds spent pruning (sort once + 20 applies), and the zero count at each sparsity."""
    t = time.perf_counter()
    order = PruneOrder.from_model(model, "l1")
    seconds = time.perf_counter() - t
    counts = []
    for r in SPARSITIES:
        t = time.perf_counter()
        order.apply(model, r)
        seconds += time.perf_counter() - t
        counts.append(count_zeros(model))  # not timed, same on both sides
    order.restore(model)
    return seconds, counts


def baseline(model) -> tuple[float, list[int]]:
    """Seconds spent pruning (fresh copy + global_unstructured per sparsity), and zero counts."""
    seconds, counts = 0.0, []
    for r in SPARSITIES:
        t = time.perf_counter()
        fresh = copy.deepcopy(model)
        if r > 0:
            params = [(m, "weight") for _, m in prunable_modules(fresh)]
            torch_prune.global_unstructured(params, pruning_method=torch_prune.L1Unstructured, amount=r)
        seconds += time.perf_counter() - t
        counts.append(count_zeros(fresh))
        del fresh
    return seconds, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeats of our sweep (baseline runs once)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = build_model("resnet50", 20, "random").eval()
    n = sum(m.weight.numel() for _, m in prunable_modules(model))
    print(f"ResNet50: {n:,} prunable weights, {len(SPARSITIES)} sparsities, {torch.get_num_threads()} threads")

    ours_times = []
    for _ in range(args.repeats):
        seconds, ours_counts = ours(model)
        ours_times.append(seconds)
    base_seconds, base_counts = baseline(model)
    assert ours_counts == base_counts, "zero counts differ"
    # L1 zeroes the smallest |w| first, so weights that were already exactly 0 (random init
    # underflows a few) are inside every mask: zeros = max(round(r * n), zeros before pruning).
    assert ours_counts == [max(round(r * n), ours_counts[0]) for r in SPARSITIES], "counts are not round(r * n)"
    print(f"identical zero counts at all {len(SPARSITIES)} sparsities (= round(r * n); {ours_counts[0]} zeros at init)")

    ours_s = statistics.median(ours_times)
    print(f"ours (median of {args.repeats}):   {ours_s:.2f} s per sweep  {[round(x, 2) for x in ours_times]}")
    print(f"baseline global_unstructured: {base_seconds:.2f} s per sweep")
    print(f"ratio baseline/ours: {base_seconds / ours_s:.1f}x")


if __name__ == "__main__":
    main()
