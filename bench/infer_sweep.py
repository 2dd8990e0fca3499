"""Claim: decoding the test set once per sweep beats the paper's fresh DataLoader that re-decodes
every image file at every sparsity.

A sweep = predictions at 20 sparsities (0, 0.05, ..., 0.95; global L1 masks from one PruneOrder
on both sides, so only the data path differs). Images are grayscale PNGs in a temp folder, stored
at the model's input size (no resizing on either side, so predictions must agree).
Ours: decode the PNGs once into uint8 [N, H, W], then ``infer.sweep`` (one uint8 tensor, batches
normalised on the fly; the store is written after every sparsity).
Baseline: per sparsity a new DataLoader (2 workers, as the paper builds one per evaluate_prune
call) whose Dataset opens, decodes and normalises every PNG (ToTensor + Normalize).
Two CPU demo configs, 2 threads: tiny net at 128 px (decode-bound, like a GPU worker where the
model is cheap) and ResNet18 at 64 px (model-bound on CPU). Prints ours, baseline, ratio (last =
the tiny demo config); medians over repeats. CPU time (this process plus the DataLoader workers) is
printed too: on a shared 2-core machine the baseline's 3 processes take a bigger share of the
cores than one process does, which moves the wall-clock ratio with the load from elsewhere.

    .venv/bin/python bench/infer_sweep.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pruning.engine.infer import IMAGENET_MEAN, IMAGENET_STD, sweep  # noqa: E402
from pruning.engine.nets import build_model  # noqa: E402
from pruning.engine.prune import PruneOrder  # noqa: E402

SPARSITIES = [i / 100 for i in range(0, 100, 5)]


def write_pngs(folder: Path, n: int, size: int) -> list[Path]:
    """Smooth grayscale images (compress and decode like radiographs rather than pure noise)."""
    rng = np.random.default_rng(0)
    paths = []
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        a, b, c = rng.random(3)
        img = 128 + 60 * np.sin(6 * a * xx + 4 * b * yy) + 40 * np.cos(9 * c * yy) + rng.normal(0, 6, (size, size))
        path = folder / f"img{i:04d}.png"
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), mode="L").save(path)
        paths.append(path)
    return paths


class PngDataset(torch.utils.data.Dataset):
    """The paper's per-item path: read the file, decode, to tensor, normalise (3 channels)."""

    def __init__(self, paths: list[Path]) -> None:
        from torchvision import transforms

        self.paths = paths
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.transform(Image.open(self.paths[i]).convert("RGB"))


def cpu_seconds() -> float:
    """CPU time of this process and its reaped children (the DataLoader workers)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def ours(model, paths: list[Path], out: Path) -> tuple[float, float, np.ndarray]:
    t, c = time.perf_counter(), cpu_seconds()
    images = np.stack([np.asarray(Image.open(p).convert("L")) for p in paths])  # decoded once
    out.unlink(missing_ok=True)
    ps = sweep(model, images, SPARSITIES, "l1", out, batch_size=64, device="cpu")
    return time.perf_counter() - t, cpu_seconds() - c, ps.probs


@torch.inference_mode()
def baseline(model, paths: list[Path]) -> tuple[float, float, np.ndarray]:
    t, c = time.perf_counter(), cpu_seconds()
    order = PruneOrder.from_model(model, "l1")
    probs = []
    for r in SPARSITIES:
        order.apply(model, r)
        loader = torch.utils.data.DataLoader(PngDataset(paths), batch_size=64, shuffle=False, num_workers=2)
        probs.append(torch.cat([torch.sigmoid(model(x)) for x in loader]).numpy())
    order.restore(model)
    return time.perf_counter() - t, cpu_seconds() - c, np.stack(probs)


def run_config(arch: str, size: int, n: int, repeats: int, folder: Path) -> float:
    paths = write_pngs(folder, n, size)
    torch.manual_seed(0)
    model = build_model(arch, 20, "random").eval()
    ours_t, base_t, ours_c, base_c = [], [], [], []
    for _ in range(repeats):  # interleaved, so a burst of load from elsewhere hits both sides
        wall, cpu, ours_probs = ours(model, paths, folder / "predictions.npz")
        ours_t.append(wall)
        ours_c.append(cpu)
        wall, cpu, base_probs = baseline(model, paths)
        base_t.append(wall)
        base_c.append(cpu)
    np.testing.assert_allclose(ours_probs, base_probs, rtol=1e-4, atol=1e-5)
    o, b = statistics.median(ours_t), statistics.median(base_t)
    oc, bc = statistics.median(ours_c), statistics.median(base_c)
    print(f"[{arch} @ {size} px, {n} PNGs, {len(SPARSITIES)} sparsities] predictions agree")
    print(
        f"  ours (median of {repeats}):     {o:.2f} s wall, {oc:.2f} s CPU per sweep  {[round(x, 2) for x in ours_t]}"
    )
    print(
        f"  baseline (median of {repeats}): {b:.2f} s wall, {bc:.2f} s CPU per sweep  {[round(x, 2) for x in base_t]}"
    )
    print(f"  ratio baseline/ours: {b / o:.2f}x wall, {bc / oc:.2f}x CPU time")
    for p in paths:
        p.unlink()
    return b / o


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        r18 = run_config("resnet18", 64, 32, args.repeats, Path(tmp))
        tiny = run_config("tiny", 128, 256, args.repeats, Path(tmp))
    print(f"ratio baseline/ours, resnet18 @ 64 px: {r18:.2f}x")
    print(f"ratio baseline/ours, tiny @ 128 px (demo config): {tiny:.2f}x")


if __name__ == "__main__":
    main()
