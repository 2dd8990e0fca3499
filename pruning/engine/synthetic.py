"""Synthetic CXR-LT: the demo and test dataset (DESIGN.md section 6).

Real NIH label vectors (``synthetic_labels``) drive a procedural chest phantom
(``synthetic_phantom`` + ``synthetic_findings``, lung shapes from ``synthetic_lungs``).

Hidden truth and its only path to PIE status: image quality and subtlety change pixels, and label
noise is drawn from those same two variables (a labeller misreads poor films and misses subtle
findings; see ``synthetic_labels``). Nothing here reads, or could read, which images later become PIEs.
The pixel-level mechanisms, sized for what a demo model sees (it reads the film shrunk to 64 px):

* poor quality: film grain drawn on a 128 px grid (``synthetic_phantom.NOISE_GRID``: grain that a
  shrink to 64 px does not average away), blur up to 9 px at 512 (``synthetic_labels.BLUR_MAX``: about
  one pixel at 64 px), exposure and contrast errors; so a poor film hides the fine evidence a model uses;
* subtlety: every finding's signature is scaled by its strength, in contrast (``synthetic_findings.paint``)
  as well as size, so a subtle finding is a faint one;
* findings are sized to be visible at 64 px (nodules 1-2 cm, pleural thickening and fibrosis coarse
  enough to survive the shrink).

Generator version 2 (``GENERATOR_VERSION``) introduced these; renderings by another version are not reused.
Version 3 plants one subgroup mechanism: AP (portable) films are of lower quality
(``synthetic_labels.PORTABLE_DROP``, flagged per image as ``portable_degraded`` in the hidden truth), and
writes the real rows' visible attributes (sex, age, view) to ``metadata.csv``.

Output folder layout::

    images/<id>.png            8-bit grayscale PNG, no metadata
    labels_{train,val,test}.csv id, patient_id, one 0/1 column per class (labels carry label noise)
    metadata.csv               id, patient_id, sex, age, view (the real NIH rows' attributes; visible,
                               not hidden truth: a hospital knows them)
    hidden_truth.csv           per image: true labels, quality, subtlety, label-noise flag, ...
    dataset.json               name, generator version, classes, n per split, seed, size, label and lung sources

The same (n_images, size, seed, options) gives the same bytes, whatever the worker count: every
image draws from its own generator seeded with (seed, image index).

CLI: ``python -m pruning.engine.synthetic --out DIR --n 2000 --size 256 --seed 0``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from common.progress import Progress, report
from pruning.engine.synthetic_findings import FINDINGS, adjust_geometry, paint
from pruning.engine.synthetic_labels import CLASSES, sample_plan
from pruning.engine.synthetic_lungs import load_bank
from pruning.engine.synthetic_phantom import Case, anatomy, film, make_ctx

NAME = "synthetic-cxr-lt"
# Bump when the same (n, size, seed, fractions) would give other pixels or labels: dataset.json records it and
# a rendering with another version is not reused (pruning.steps.synthetic_is_rendered).
GENERATOR_VERSION = 3  # 3: the portable (AP) film mechanism, metadata.csv
SPLITS = ("train", "val", "test")
_CHUNK = 32  # images per worker task: large enough to amortise pickling, small for progress


def render_case(case: Case, size: int, rng: np.random.Generator, lung_masks: bool = True) -> np.ndarray:
    """Pixels of one case: uint8 [size, size]."""
    unknown = set(case.findings) - set(FINDINGS)
    if unknown:
        raise ValueError(f"unknown finding(s) {sorted(unknown)}; choose from {list(FINDINGS)}")
    bank = load_bank(real=lung_masks)
    c = make_ctx(case, size, rng, len(bank))
    # Jitter and side are drawn for every finding, present or not, so the same seed gives the
    # same patient with or without a finding (handy for looking at a signature in isolation).
    jitter = rng.uniform(0.85, 1.15, len(FINDINGS))
    sides = {f: int(rng.integers(2)) for f in FINDINGS}
    strengths = {
        f: float(np.clip(case.strength * j, 0.05, 1.0))
        for f, j in zip(FINDINGS, jitter, strict=True)
        if f in case.findings
    }
    adjust_geometry(c.g, strengths, sides)
    anatomy(c, bank)
    paint(c, strengths, sides)
    return film(c, case)


def render_one(
    findings: Iterable[str] = (),
    size: int = 512,
    seed: int = 0,
    strength: float = 1.0,
    quality: dict | None = None,
    lung_masks: bool = True,
) -> np.ndarray:
    """Quick look: one image with the given findings, e.g. ``render_one(["Effusion"])``.

    ``quality`` may set noise_sigma, blur_sigma, exposure, contrast (see ``Case``).
    """
    case = Case(findings=frozenset(findings), strength=strength, **(quality or {}))
    return render_case(case, size, np.random.default_rng([int(seed), 2, 0]), lung_masks)


def _write_png(path: Path, pixels: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # compress_level 1: twice as fast as the default and barely larger on noisy radiographs;
    # no pnginfo is passed, so PIL writes no metadata chunks.
    Image.fromarray(pixels).save(tmp, format="PNG", compress_level=1)
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _cases(plan: pd.DataFrame) -> list[Case]:
    true = plan[[f"true_{f}" for f in FINDINGS]].to_numpy(bool)
    return [
        Case(
            findings=frozenset(f for f, t in zip(FINDINGS, row_true, strict=True) if t),
            strength=float(r.strength),
            noise_sigma=float(r.noise_sigma),
            blur_sigma=float(r.blur_sigma),
            exposure=float(r.exposure),
            contrast=float(r.contrast),
            view=str(r.view),
            lung_shape=int(r.lung_shape),
        )
        for r, row_true in zip(plan.itertuples(index=False), true, strict=True)
    ]


def _render_chunk(job: tuple[str, int, int, bool, list[tuple[int, str, Case]]]) -> int:
    images, size, seed, lung_masks, items = job
    for index, image_id, case in items:
        pixels = render_case(case, size, np.random.default_rng([seed, 2, index]), lung_masks)
        _write_png(Path(images) / f"{image_id}.png", pixels)
    return len(items)


def _render_all(jobs: list, n: int, workers: int, progress: Progress | None) -> None:
    done = 0
    # Fork only from the main thread of a non-daemon process: forking a threaded server process
    # can copy held locks, and daemon processes (some task runners) may not have children.
    can_fork = threading.current_thread() is threading.main_thread() and not multiprocessing.current_process().daemon
    if workers <= 1 or not can_fork:
        for job in jobs:
            done += _render_chunk(job)
            report(progress, done, n, "rendering images")
        return
    # fork: workers inherit the loaded lung bank and NIH table instead of re-reading them
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        futures = [pool.submit(_render_chunk, job) for job in jobs]
        try:
            for fut in futures:
                done += fut.result()
                report(progress, done, n, "rendering images")
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # Cancelled: stop, keep written files
            raise


def make_synthetic(
    out_dir: Path | str,
    n_images: int,
    size: int = 256,
    seed: int = 0,
    progress: Progress | None = None,
    *,
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
    noise_rate: float = 0.05,
    lung_masks: bool = True,
    workers: int | None = None,
) -> dict:
    """Render the synthetic CXR-LT into ``out_dir``; return a summary dict.

    ``workers`` processes render in parallel (default: one per CPU, one for small sets).
    """
    if size < 32:
        raise ValueError(f"image size must be at least 32 px, got {size}")
    t0 = time.perf_counter()
    out = Path(out_dir)
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    plan, label_source = sample_plan(n_images, seed, fractions, noise_rate)
    bank = load_bank(real=lung_masks)
    plan["lung_shape"] = np.random.default_rng([int(seed), 3]).integers(len(bank), size=len(plan))
    plan["lung_mask"] = [bank.names[k] for k in plan["lung_shape"]]
    items = [(i, image_id, case) for i, (image_id, case) in enumerate(zip(plan["id"], _cases(plan), strict=True))]
    jobs = [
        (str(images), int(size), int(seed), lung_masks, items[k : k + _CHUNK]) for k in range(0, len(items), _CHUNK)
    ]
    if workers is None:
        workers = 1 if n_images < 200 else min(os.cpu_count() or 1, 8)
    _render_all(jobs, len(items), workers, progress)
    keep = {f"{i}.png" for i in plan["id"]}
    for stale in images.glob("syn*.png"):  # an earlier, larger run's images
        if stale.name not in keep:
            stale.unlink()
    counts = {}
    for split in SPLITS:
        rows = plan[plan["split"] == split]
        counts[split] = len(rows)
        _write_text(out / f"labels_{split}.csv", rows[["id", "patient_id", *CLASSES]].to_csv(index=False))
    _write_text(out / "metadata.csv", plan[["id", "patient_id", "sex", "age", "view"]].to_csv(index=False))
    truth_cols = [c for c in plan.columns if c not in CLASSES and c not in ("lung_shape", "sex", "age")]
    _write_text(out / "hidden_truth.csv", plan[truth_cols].to_csv(index=False))
    meta = {
        "name": NAME,
        "generator_version": GENERATOR_VERSION,
        "classes": CLASSES,
        "n": counts,
        "seed": int(seed),
        "size": int(size),
        "label_source": label_source,
        "lung_shapes": bank.source,
        "split_fractions": list(fractions),
        "label_noise_rate": noise_rate,
        "n_label_noise": int(plan["label_noise"].sum()),
        "hidden_truth": "hidden_truth.csv (never show to models or readers)",
    }
    _write_text(out / "dataset.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return {**meta, "out_dir": str(out), "seconds": round(time.perf_counter() - t0, 2)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m pruning.engine.synthetic", description=__doc__)
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--n", type=int, default=2000, help="number of images")
    ap.add_argument("--size", type=int, default=256, help="image side in pixels")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise-rate", type=float, default=0.05, help="label-noise rate")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--procedural-lungs", action="store_true", help="skip the real lung masks")
    args = ap.parse_args(argv)
    from tqdm import tqdm  # CLI only: the library path stays free of terminal output

    with tqdm(total=args.n, unit="img", desc="synthetic CXR-LT") as bar:

        def progress(done: int, total: int, message: str) -> None:
            bar.update(done - bar.n)

        summary = make_synthetic(
            args.out,
            args.n,
            args.size,
            args.seed,
            progress,
            noise_rate=args.noise_rate,
            lung_masks=not args.procedural_lungs,
            workers=args.workers,
        )
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
