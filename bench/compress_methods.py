"""Claim: each compression method's sweep does its shared work once per seed, and that beats the obvious
baseline of starting from scratch at every level. Measured per method, ours and baseline in the same run:

* structured (ResNet18, channels removed 0.1 .. 0.7): ours traces the DepGraph once and prunes the same
  graph further at each level (``compress.structured``); the baseline copies the dense model, builds a
  new DepGraph and prunes it with torch-pruning's own ``MagnitudePruner`` at every level. Both end with
  the same parameter count at every level (checked);
* layer_l1 (ResNet18, 20 sparsities): ours sorts each layer once; the baseline runs
  ``torch.nn.utils.prune.l1_unstructured`` on every layer of a fresh copy at every level (same zeros);
* int8_static: the level axis has ONE quantized level (0.75), so calibrating once per seed and once per
  level are the same work; the bench times one prepare + calibrate + convert to say what a level costs,
  and prints no ratio for it.

Times cover compression only (no inference). Prints ours, baseline and ratio per method, the ratios last.

    .venv/bin/python bench/compress_methods.py [--arch resnet18] [--image-size 64] [--repeats 1]
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

from pruning.engine.compress import get  # noqa: E402
from pruning.engine.nets import build_model, prunable_modules  # noqa: E402

STRUCTURED = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
LAYERWISE = [i / 100 for i in range(0, 100, 5)]


def n_params(net) -> int:
    return sum(p.numel() for p in net.parameters())


def structured(model, example) -> tuple[float, float]:
    import torch_pruning as tp

    t = time.perf_counter()
    comp = get("structured").load()(model, example=example)
    ours_counts = [n_params(comp.apply(model, r)) for r in STRUCTURED]
    ours = time.perf_counter() - t
    t = time.perf_counter()
    base_counts = []
    for r in STRUCTURED:
        net = copy.deepcopy(model)
        imp = tp.importance.GroupMagnitudeImportance(p=1)
        pruner = tp.pruner.MagnitudePruner(net, example, importance=imp, pruning_ratio=r, ignored_layers=[net.fc])
        pruner.step()
        base_counts.append(n_params(net))
    base = time.perf_counter() - t
    if ours_counts != base_counts:
        print(f"  note: parameter counts differ: ours {ours_counts} baseline {base_counts}")
    return ours, base


def layerwise(model, example) -> tuple[float, float]:
    t = time.perf_counter()
    comp = get("layer_l1").load()(model, example=example)
    ours_zeros = []
    for r in LAYERWISE:
        comp.apply(model, r)
        ours_zeros.append(sum(int((m.weight == 0).sum()) for _, m in prunable_modules(model)))
    comp.restore(model)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    base_zeros = []
    for r in LAYERWISE:
        net = copy.deepcopy(model)
        for _, m in prunable_modules(net):
            torch_prune.l1_unstructured(m, "weight", amount=r)
        base_zeros.append(sum(int((m.weight == 0).sum()) for _, m in prunable_modules(net)))
    base = time.perf_counter() - t
    assert ours_zeros == base_zeros, (ours_zeros, base_zeros)
    return ours, base


def int8_once(model, example) -> float:
    calib = torch.randn(64, *example.shape[1:])
    t = time.perf_counter()
    get("int8_static").load()(model, example=example, calibration=calib)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="resnet18")
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    torch.manual_seed(0)
    model = build_model(args.arch, 20, "random").eval()
    example = torch.randn(1, 3, args.image_size, args.image_size)
    print(f"{args.arch}, {n_params(model):,} parameters, {args.image_size} px, {torch.get_num_threads()} threads")
    ratios = {}
    for name, fn in (("structured", structured), ("layer_l1", layerwise)):
        runs = [fn(model, example) for _ in range(args.repeats)]
        ours, base = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        ratios[name] = base / ours
        print(f"{name}: ours {ours:.2f} s, baseline {base:.2f} s")
    print(f"int8_static: one prepare + calibrate (64 images) + convert: {int8_once(model, example):.2f} s (no ratio)")
    print("ratios (baseline / ours): " + ", ".join(f"{k} {v:.1f}x" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
