"""Claim (GPU path): on one GPU the paper's ResNet50 at 256 px trains and sweeps with bf16 autocast,
channels_last and the decode-once on-device image cache, and one sort prunes 20 ratios; measured
against fp32 (autocast off) and against torch's ``global_unstructured`` re-run per ratio.

Synthetic uint8 tensors of NIH-CXR-LT size (about 68,000 train and 20,000 test images, 20 classes;
pixels do not change the timing) on the device (``pruning.engine.infer.DeviceImages``):

* training images/s: ``train.train_one_epoch`` (the real loop: augmentation, BCE, Adam) over the
  train set, after a warm-up; ours bf16 vs the baseline fp32 on a quarter of the set;
* a full 20-sparsity inference sweep over the test set (``infer.sweep``: one sort, nested masks,
  cached normalised inputs, the store written after every sparsity), bf16 vs fp32;
* pruning 20 ratios: ``PruneOrder.from_model`` + 20 ``apply`` vs ``global_unstructured`` on a
  fresh copy per ratio (identical zero counts checked);
* every other compression method (``--methods``): its default-level sweep over ``--method-images`` test
  images with measured costs (latency on the sweep's device: the GPU for the pruning methods; int8 runs on
  CPU kernels only; imp fine-tunes one epoch per level on the 256 calibration images) -- seconds per sweep
  and the cost at the method's heavy level. A method that cannot
  apply to ``--arch`` says why and the bench goes on.

No GPU figures exist yet: no GPU was lent to the session that wrote this. ``make test`` runs it on
the CPU at a tiny size (tests/platform_tests/test_gpu_bench.py) so it cannot rot.

    .venv/bin/python bench/gpu.py                       # on a CUDA machine, full size (~3-5 min)
    .venv/bin/python bench/gpu.py --device cpu --arch resnet18 --image-size 32 \\
        --train-images 48 --test-images 24 --batch-size 16 --sparsities 3    # smoke run
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.utils.prune as torch_prune

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pruning.engine.compress import MethodError, get  # noqa: E402
from pruning.engine.compress.costs import CostConfig  # noqa: E402
from pruning.engine.infer import DeviceImages, prepare_model, resolve_device, sweep  # noqa: E402
from pruning.engine.nets import build_model, prunable_modules  # noqa: E402
from pruning.engine.prune import PruneOrder  # noqa: E402
from pruning.engine.train import TrainConfig, TrainingSet, train_one_epoch  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def synthetic(n: int, size: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
    labels = (rng.random((n, classes)) < np.geomspace(0.4, 0.002, classes)).astype(np.float32)
    return images, labels


def train_rate(model, images: DeviceImages, labels: torch.Tensor, config: TrainConfig, device) -> float:
    """Images per second of one ``train_one_epoch`` over ``images`` (after a warm-up pass)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(0)
    sync(device)
    t = time.perf_counter()
    train_one_epoch(model, optimizer, images, labels, config, gen)
    sync(device)
    return len(images) / (time.perf_counter() - t)


def subset(images: np.ndarray, labels: np.ndarray, n: int, device) -> tuple[DeviceImages, torch.Tensor]:
    return DeviceImages(images[:n], device), torch.from_numpy(labels[:n]).to(device)


def prune_times(model, ratios: list[float], device) -> tuple[float, float]:
    """Seconds to prune every ratio: ours (one sort, nested masks) vs global_unstructured per ratio."""
    counts = lambda m: [int((mod.weight == 0).sum()) for _, mod in prunable_modules(m)]  # noqa: E731
    sync(device)
    t = time.perf_counter()
    order = PruneOrder.from_model(model, "l1")
    ours_counts = []
    for r in ratios:
        order.apply(model, r)
        sync(device)
        ours_counts.append(sum(counts(model)))  # untimed below
    ours = time.perf_counter() - t
    order.restore(model)
    base, base_counts = 0.0, []
    for r in ratios:
        sync(device)
        t = time.perf_counter()
        fresh = copy.deepcopy(model)
        if r > 0:
            params = [(m, "weight") for _, m in prunable_modules(fresh)]
            torch_prune.global_unstructured(params, pruning_method=torch_prune.L1Unstructured, amount=r)
        sync(device)
        base += time.perf_counter() - t
        base_counts.append(sum(counts(fresh)))
        del fresh
    assert ours_counts == base_counts, f"zero counts differ: {ours_counts} vs {base_counts}"
    return ours, base


def method_sweeps(model, test_x, calib, methods: list[str], args, device, tmp: str) -> dict[str, float]:
    """Seconds of each method's default-level sweep (with costs), printing its heavy-level cost. ``calib``:
    (images, labels) that static int8 calibrates on and IMP fine-tunes on (one epoch per level)."""
    out = {}
    calib_x, calib_y = calib
    for name in methods:
        spec = get(name)
        config = TrainConfig(arch=args.arch, batch_size=args.batch_size, image_size=args.image_size, device=str(device))
        training = TrainingSet(calib_x, calib_y, config) if spec.needs_training else None
        store = Path(tmp) / f"{name}.npz"
        sync(device)
        t = time.perf_counter()
        try:
            sweep(model, test_x, spec.default_levels, name, store, batch_size=args.batch_size, device=device,
                  calibration=calib_x, costs=CostConfig(repeats=args.cost_repeats), training=training)  # fmt: skip
        except MethodError as exc:
            print(f"method {name}: not applicable to {args.arch}: {exc}", flush=True)
            continue
        sync(device)
        out[name] = time.perf_counter() - t
        from pruning.engine.store import read_sidecar

        cost = read_sidecar(store)["costs"][repr(float(spec.heavy_level))]
        print(
            f"method {name}: {len(spec.default_levels)} levels x {len(test_x):,} images in {out[name]:.1f} s; at "
            f"{spec.heavy_level:g}: {cost['params']:,} params, {cost['file_bytes']:,} bytes, "
            f"{cost['latency_ms_b1']:.1f} / {cost['latency_ms_b64']:.1f} ms (batch 1 / 64, {cost['device']})",
            flush=True,
        )
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto", help="auto = CUDA when available")
    ap.add_argument("--arch", default="resnet50")
    ap.add_argument("--image-size", type=int, default=256)
    ap.add_argument("--train-images", type=int, default=68_000)
    ap.add_argument("--test-images", type=int, default=20_000)
    ap.add_argument("--classes", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--sparsities", type=int, default=20)
    ap.add_argument("--methods", default="layer_l1,nm,structured,imp,int8_static,int8_dynamic,fp16")
    ap.add_argument("--method-images", type=int, default=2000, help="test images per method sweep")
    ap.add_argument("--cost-repeats", type=int, default=3, help="timed forward passes per level and batch size")
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    name = "CPU (no GPU: a smoke run, not a GPU figure)"
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    print(f"device: {name}; torch {torch.__version__}", flush=True)
    ratios = [round(0.05 * i, 10) for i in range(args.sparsities)]
    torch.manual_seed(0)
    model = prepare_model(build_model(args.arch, args.classes, "random"), device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    results: dict[str, float] = {}

    train_x, train_y = synthetic(args.train_images, args.image_size, args.classes, 1)
    config = TrainConfig(arch=args.arch, init="random", batch_size=args.batch_size, image_size=args.image_size)
    warm = subset(train_x, train_y, min(len(train_x), 4 * args.batch_size), device)
    train_rate(model, *warm, config, device)  # cuDNN autotuning, allocator warm-up
    results["train_img_s_bf16"] = train_rate(model, *subset(train_x, train_y, len(train_x), device), config, device)
    fp32 = TrainConfig(**{**config.__dict__, "amp": False})
    quarter = subset(train_x, train_y, max(2 * args.batch_size, len(train_x) // 4), device)
    train_rate(model, *warm, fp32, device)
    results["train_img_s_fp32"] = train_rate(model, *quarter, fp32, device)
    del train_x, train_y, warm, quarter
    print(
        f"training ({args.arch} @ {args.image_size} px, batch {args.batch_size}): "
        f"bf16 + channels_last {results['train_img_s_bf16']:.0f} img/s, fp32 {results['train_img_s_fp32']:.0f} img/s",
        flush=True,
    )

    model.eval()
    test_x, _ = synthetic(args.test_images, args.image_size, args.classes, 2)
    with tempfile.TemporaryDirectory() as tmp:
        timings = {}
        probs = {}
        for label, amp in (("bf16", "auto"), ("fp32", False)):
            store = Path(tmp) / f"{label}.npz"
            sync(device)
            t = time.perf_counter()
            ps = sweep(model, test_x, ratios, "l1", store, batch_size=args.batch_size, device=device, amp=amp)
            sync(device)
            timings[label] = time.perf_counter() - t
            probs[label] = ps.probs
    results["sweep_s_bf16"], results["sweep_s_fp32"] = timings["bf16"], timings["fp32"]
    diff = float(np.abs(probs["bf16"] - probs["fp32"]).max())
    print(
        f"inference sweep ({len(ratios)} sparsities x {args.test_images:,} images): bf16 {timings['bf16']:.1f} s, "
        f"fp32 {timings['fp32']:.1f} s; max |bf16 - fp32| probability {diff:.3f}",
        flush=True,
    )

    calib = synthetic(min(256, args.train_images), args.image_size, args.classes, 3)
    methods = [m for m in args.methods.split(",") if m]
    with tempfile.TemporaryDirectory() as tmp:
        per_method = method_sweeps(model, test_x[: args.method_images], calib, methods, args, device, tmp)
    results.update({f"method_s_{k}": v for k, v in per_method.items()})
    model = prepare_model(model, device)  # quantized sweeps ran on CPU; the dense model stays on the device

    results["prune_s_ours"], results["prune_s_torch"] = prune_times(model, ratios, device)
    print(
        f"prune {len(ratios)} ratios: one sort + nested masks {results['prune_s_ours']:.2f} s, "
        f"global_unstructured per ratio {results['prune_s_torch']:.2f} s (identical zero counts)"
    )
    print(
        f"ratio baseline/ours: training {results['train_img_s_bf16'] / results['train_img_s_fp32']:.2f}x, "
        f"sweep {results['sweep_s_fp32'] / results['sweep_s_bf16']:.2f}x, "
        f"pruning {results['prune_s_torch'] / results['prune_s_ours']:.1f}x"
    )
    return results


if __name__ == "__main__":
    main()
