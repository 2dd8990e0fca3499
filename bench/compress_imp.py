"""Claim: iterative magnitude pruning (``compress.imp``: prune globally by |w| to each level from the previous
one, then fine-tune with the mask fixed) keeps more mAP at high sparsity than one-shot global L1 at the same
levels, and what that costs: the IMP sweep against the one-shot L1 sweep of the same trained model, same levels,
same test images, in the same run.

Renders a small synthetic CXR-LT (cached under --out), trains one seed of the ``small`` net (cached), then runs
both sweeps and prints per level: achieved sparsity, test mAP of each. Then the wall and CPU seconds of each
sweep (IMP's include its fine-tunes and the two train-set loss passes per level it records), and last the
ratio of IMP's cost to one-shot L1's and the mAP gain at the heaviest level. A control separates pruning from
training: the dense model trained for as many more epochs as IMP fine-tunes in all, then pruned one-shot (at
this scale the dense model is far from converged, so some of IMP's gain can be just more training).

    .venv/bin/python bench/compress_imp.py [--n 1200] [--epochs 8] [--finetune-epochs 1] [--rewind]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pruning.engine.data import decode_images, load_synthetic  # noqa: E402
from pruning.engine.infer import sweep  # noqa: E402
from pruning.engine.nets import build_model  # noqa: E402
from pruning.engine.store import read_sidecar  # noqa: E402
from pruning.engine.synthetic import make_synthetic  # noqa: E402
from pruning.engine.train import TrainConfig, TrainingSet, train_run  # noqa: E402
from pruning.engine.train_parts import mean_auroc_map  # noqa: E402

LEVELS = [0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95]


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1200, help="images rendered (70/10/20 split)")
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=8, help="training epochs of the dense model")
    ap.add_argument("--finetune-epochs", type=int, default=1)
    ap.add_argument("--rewind", action="store_true")
    ap.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "bench_compress_imp"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    data_dir = out / f"synthetic-{args.n}"
    if not (data_dir / "dataset.json").is_file():
        make_synthetic(data_dir, args.n, 64, seed=0)
    splits = load_synthetic(data_dir)
    images = {k: decode_images(s.paths, args.image_size) for k, s in splits.items()}
    labels = {k: s.labels for k, s in splits.items()}
    config = TrainConfig(
        arch="small", init="random", epochs=args.epochs, batch_size=64, lr=1e-3, patience=args.epochs,
        image_size=args.image_size, seed=0, device="cpu",
    )  # fmt: skip
    run_dir = out / f"run-{args.n}-{args.image_size}-{args.epochs}"
    trained = train_run(config, images["train"], labels["train"], images["val"], labels["val"], run_dir, resume=True)
    n_classes = labels["train"].shape[1]
    # Control: the dense model trained for as many more epochs as IMP fine-tunes in all (levels after 0).
    extra = args.finetune_epochs * (len(LEVELS) - 1)
    longer_dir = out / f"run-{args.n}-{args.image_size}-{args.epochs}-plus{extra}"
    if not longer_dir.is_dir():
        shutil.copytree(run_dir, longer_dir)
    longer_config = dataclasses.replace(config, epochs=args.epochs + extra, patience=args.epochs + extra)
    longer = train_run(longer_config, images["train"], labels["train"], images["val"], labels["val"], longer_dir,
                       resume=True)  # fmt: skip

    def run(method, checkpoint, **kwargs):
        path = out / f"{method}-{os.getpid()}.npz"
        path.unlink(missing_ok=True)
        model = build_model("small", n_classes, init=checkpoint)
        ps = sweep(model, images["test"], LEVELS, method, path, seed=0, device="cpu", image_size=args.image_size,
                   batch_size=256, **kwargs)  # fmt: skip
        return ps, read_sidecar(path)

    training = TrainingSet(images["train"], labels["train"], config)
    params = {"finetune_epochs": args.finetune_epochs, "rewind": args.rewind}
    (l1, l1_side), l1_wall, l1_cpu = timed(lambda: run("l1", trained["best_checkpoint"]))
    (imp, imp_side), imp_wall, imp_cpu = timed(
        lambda: run("imp", trained["best_checkpoint"], training=training, params=params)
    )
    long_l1, _ = run("l1", longer["best_checkpoint"])

    print(f"load average {os.getloadavg()[0]:.2f}; {args.n} images, test {len(images['test'])}, small net "
          f"{args.image_size}px, dense trained {trained['epochs_run']} epochs; IMP {json.dumps(params)}; "
          f"control: dense trained {longer['epochs_run']} epochs (+{extra} = IMP's fine-tune budget)")  # fmt: skip
    print_table(labels["test"], l1, l1_side, imp, imp_side, long_l1)
    print(f"one-shot l1 sweep: {l1_wall:.2f} s wall, {l1_cpu:.2f} s CPU")
    print(f"imp sweep:         {imp_wall:.2f} s wall, {imp_cpu:.2f} s CPU")
    gain = mean_auroc_map(labels["test"], imp.probs[-1])[1] - mean_auroc_map(labels["test"], l1.probs[-1])[1]
    print(f"ratio imp / l1 cost: {imp_wall / l1_wall:.1f}x wall, {imp_cpu / l1_cpu:.1f}x CPU; "
          f"mAP gain at {LEVELS[-1]:g}: {gain:+.4f}")  # fmt: skip


def print_table(y, l1, l1_side, imp, imp_side, long_l1) -> None:
    print(f"{'level':>6} {'achieved l1':>12} {'achieved imp':>13} {'mAP l1':>8} {'mAP imp':>8} {'imp - l1':>9} "
          f"{'mAP l1 of longer-trained':>25}")  # fmt: skip
    for i, r in enumerate(LEVELS):
        m_l1, m_imp, m_long = (mean_auroc_map(y, ps.probs[i])[1] for ps in (l1, imp, long_l1))
        a_l1 = l1_side["achieved"][repr(r)]["overall"]
        a_imp = imp_side["achieved"][repr(r)]["overall"]
        print(f"{r:>6g} {a_l1:>12.4f} {a_imp:>13.4f} {m_l1:>8.4f} {m_imp:>8.4f} {m_imp - m_l1:>+9.4f} {m_long:>25.4f}")


if __name__ == "__main__":
    main()
