"""Claim: one sort + nested masks makes a 20-sparsity pruning sweep >= 10x faster than re-running
torch.nn.utils.prune.global_unstructured from scratch at every sparsity (the paper's way).

ResNet50 (random init, 20-class head, 23.5M prunable weights), global L1 over every Conv2d and
Linear weight at sparsity 0, 0.05, ..., 0.95, on 2 CPU threads. Ours: PruneOrder.from_model once,
then .apply per sparsity. Baseline: per sparsity a fresh copy of the dense model (the paper reloads
the checkpoint) and global_unstructured(L1Unstructured, amount=r). Both count the zeros after
pruning (untimed); the counts must be identical at every sparsity. Prints ours, baseline, ratio (last).

The floor: what any one-sort method must do -- one ``torch.sort`` of |w| over all 23.5M weights plus
20 masked copies (``torch.where(mask, 0, dense)`` into the weights, masks given). Ours is reported
as a multiple of that floor, with where the rest goes (building the sort key, the rank scatter,
the per-sparsity mask comparison).

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


def floor_and_parts(model, repeats: int) -> dict[str, float]:
    """Medians of the floor's parts and of ours' extra steps (same tensors, same threads)."""
    from pruning.engine.prune import _sort_key_order

    dense = torch.cat([m.weight.detach().reshape(-1) for _, m in prunable_modules(model)])
    n = dense.numel()
    parts: dict[str, list[float]] = {k: [] for k in ("sort", "copies", "key_sort", "rank", "masks")}
    buf, drop = torch.empty_like(dense), torch.empty(n, dtype=torch.bool)
    zero = torch.zeros((), dtype=dense.dtype)
    for _ in range(repeats):
        t = time.perf_counter()
        torch.sort(dense.abs())
        parts["sort"].append(time.perf_counter() - t)
        order = _sort_key_order(dense.abs())
        rank = torch.empty(n, dtype=torch.int32)
        t = time.perf_counter()
        _sort_key_order(dense.abs())
        parts["key_sort"].append(time.perf_counter() - t)
        t = time.perf_counter()
        rank[order] = torch.arange(n, dtype=torch.int32)
        parts["rank"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for r in SPARSITIES:
            torch.lt(rank, round(r * n), out=drop)
        parts["masks"].append(time.perf_counter() - t)
        masks = [rank < round(r * n) for r in SPARSITIES[:2]]
        t = time.perf_counter()
        for i in range(len(SPARSITIES)):
            torch.where(masks[i % 2], zero, dense, out=buf)
        parts["copies"].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in parts.items()}


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
    parts = floor_and_parts(model, args.repeats)
    floor = parts["sort"] + parts["copies"]
    extra = (parts["key_sort"] - parts["sort"]) + parts["rank"] + parts["masks"]
    rest = max(0.0, ours_s - floor - extra)
    print(
        f"floor (one torch.sort of |w| {parts['sort']:.2f} s + {len(SPARSITIES)} masked copies "
        f"{parts['copies']:.2f} s): {floor:.2f} s; ours is {ours_s / floor:.2f}x the floor"
    )
    print(
        f"  ours' steps: stable sort via packed int64 keys {parts['key_sort']:.2f} s (vs {parts['sort']:.2f} s "
        f"for an unstable float sort), rank scatter {parts['rank']:.2f} s, {len(SPARSITIES)} mask "
        f"comparisons {parts['masks']:.2f} s, the rest (cat, abs, binding) {rest:.2f} s"
    )
    print(f"ratio baseline/ours: {base_seconds / ours_s:.1f}x")


if __name__ == "__main__":
    main()
