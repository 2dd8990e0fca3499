"""Claim: the whole forgettability + PIE analysis of the paper's released predictions (Figs 1-5, both
datasets) runs >= 25x faster than the paper's scripts' approach, in <= 1.1 GB peak memory.

Fixture (``--fixture``, default ``var/bench/paper_scale``; gitignored, reused when its manifest
matches): the paper's released layout, deterministic, at paper scale by default: 2 datasets
(NIH-CXR-LT's 20 and MIMIC-CXR-LT's 19 classes, with the paper's class names) x 30 seeds x 20
sparsities x 20,000 test images = 1,200 pickled DataFrames (float32 sigmoid outputs, one column per
class, plus the ``label`` column of ``|``-joined class names) and
``miccai2023_{dataset}_labels_{train,test}.csv``. Scores: class-frequency-dependent signal that
fades with sparsity (rare classes are forgotten first, as the paper found), a per-image difficulty
shared by every seed (so PIEs exist), seed noise; scores at sparsity >= 0.9 are rounded to 4
decimals (the tied outputs of heavily pruned models).

Ours: ``manage.py forgettability --prunecxr-preds NIH MIMIC ... --dataset nih-cxr-lt mimic-cxr-lt
--formats png`` in a child process (the command a user runs; both datasets in one run, as
``main_analysis.py`` does; SVG and PDF are rendered on first download).
Baseline, the paper's approach in a child process per script, as the paper runs them:

* ``main_analysis.py`` (both datasets in one process): per (seed, sparsity) ``pd.read_pickle``
  and scikit-learn's ``roc_auc_score`` / ``average_precision_score`` (``average=None``) and
  ``precision_recall_fscore_support`` on ``y_hat.round()``; relative changes and medians with
  pandas; first 20% drop, co-occurrence and FCD per class pair; Figs 1-4 drawn with pyplot and
  saved as PDF (the paper's seaborn plots are not installed here; matplotlib draws the same lines);
* ``pie_analysis.py`` (one process per dataset): per sparsity, read every seed's file and average;
  ``DataFrame.corrwith(method="spearman", axis=1)`` for every sparsity > 0; PIEs = the lowest 5%
  at 90% (stable argsort, so ties fall by image index, as ours); Fig 5 as PDF.

Checks (every run): our PIE set equals the baseline's for each dataset; our per-class AUROC/AP equal
the baseline's scikit-learn values to 1e-12 (both read from the files each side wrote).
Wall time and peak memory (each child's own ru_maxrss) for both; the ratio last.

    .venv/bin/python bench/paper_scale.py                      # paper scale (~10 min on 2 cores)
    .venv/bin/python bench/paper_scale.py --seeds 3 --images 2000   # small
    .venv/bin/python bench/paper_scale.py --scale-curve        # ours at 1x, 2x, 4x test-set size
    .venv/bin/python bench/paper_scale.py --who-only           # the new sections' cost, no baseline

Issue 20's claim: the "who is forgotten" sections (subgroups with a 1,000-replicate patient bootstrap,
calibration, uncertainty with 10 seed resamples) add less than the current forgettability run takes.
Every run also runs ours with the sections (``--metadata``: a deterministic per-image sex, age, view and
patient table, ``metadata.csv`` in the fixture) next to ours without them (``--no-who``: the current
run), interleaved, and prints what the sections add; ``--who-only`` skips the baseline and prints the
ratio (current run / added by the sections) last.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NIH_CLASSES = [
    "No Finding", "Infiltration", "Effusion", "Atelectasis", "Nodule", "Mass", "Consolidation",
    "Pneumothorax", "Pleural Thickening", "Cardiomegaly", "Emphysema", "Edema", "Fibrosis",
    "Subcutaneous Emphysema", "Pneumonia", "Tortuous Aorta", "Calcification of the Aorta",
    "Pneumoperitoneum", "Hernia", "Pneumomediastinum",
]  # fmt: skip
MIMIC_CLASSES = [
    "Support Devices", "Lung Opacity", "Cardiomegaly", "Pleural Effusion", "Atelectasis", "Pneumonia",
    "Edema", "No Finding", "Enlarged Cardiomediastinum", "Consolidation", "Pneumothorax", "Fracture",
    "Calcification of the Aorta", "Tortuous Aorta", "Subcutaneous Emphysema", "Lung Lesion",
    "Pneumomediastinum", "Pneumoperitoneum", "Pleural Other",
]  # fmt: skip
DATASETS = {"nih-cxr-lt": NIH_CLASSES, "mimic-cxr-lt": MIMIC_CLASSES}
ID_COLUMN = {"nih-cxr-lt": "id", "mimic-cxr-lt": "path"}  # as pruning.engine.data.PAPER_ID_COLUMN
PIE_SPARSITY, PIE_Q = 0.9, 0.05


# --- the fixture ---------------------------------------------------------------------------------


def sparsity_grid(n: int) -> list[float]:
    """0, 0.05, ..., 0.95 for n = 20 (the paper's); n evenly spaced steps of 0.05 otherwise."""
    return [round(0.05 * i, 10) for i in range(n)]


def ratio_name(r: float) -> str:
    """The paper's file-name spelling: ``0`` for dense, else ``str`` of the float (0.05, 0.1, ...)."""
    return "0" if r == 0 else repr(r)


def fixture_labels(classes: list[str], n: int, rng: np.random.Generator) -> np.ndarray:
    """Long-tailed labels: prevalence 35% .. 0.15%; "No Finding" iff no other finding."""
    c = len(classes)
    prevalence = np.geomspace(0.35, 0.0015, c)
    y = (rng.random((n, c)) < prevalence).astype(np.uint8)
    nf = classes.index("No Finding")
    y[:, nf] = 0
    y[:, nf] = y.sum(axis=1) == 0
    return y


def write_fixture(root: Path, seeds: int, n_sparsities: int, images: int) -> dict:
    """Write the released layout under root/<dataset>/{preds,labels}; reuse a matching one."""
    manifest = {"seeds": seeds, "sparsities": n_sparsities, "images": images, "version": 1}
    stamp = root / "manifest.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == manifest:
        return manifest
    if root.exists():
        shutil.rmtree(root)
    t0 = time.perf_counter()
    for d, (dataset, classes) in enumerate(DATASETS.items()):
        rng = np.random.default_rng([d, 0])
        y_test = fixture_labels(classes, images, rng)
        y_train = fixture_labels(classes, 3 * images, rng)
        labels = root / dataset / "labels"
        preds = root / dataset / "preds"
        labels.mkdir(parents=True)
        preds.mkdir(parents=True)
        for split, y in (("train", y_train), ("test", y_test)):
            df = pd.DataFrame(y, columns=classes)
            df.insert(0, ID_COLUMN[dataset], [f"{split}/{i:07d}.jpg" for i in range(len(y))])
            df.to_csv(labels / f"miccai2023_{dataset}_labels_{split}.csv", index=False)
        names = np.asarray(classes, dtype=object)
        label_col = ["|".join(names[np.flatnonzero(row)]) for row in y_test]
        # Frequent classes keep their signal to high sparsity; rare ones fade early.
        freq = y_train.mean(axis=0)
        onset = 0.35 + 0.55 * (np.log(freq) - np.log(freq).min()) / np.ptp(np.log(freq))
        sign = 2.0 * y_test - 1.0
        difficulty = rng.normal(0, 0.8, (images, len(classes)))  # shared by every seed: PIEs exist
        for seed in range(seeds):
            seed_shift = rng.normal(0, 0.25, len(classes))
            for k, r in enumerate(sparsity_grid(n_sparsities)):
                g = np.random.default_rng([d, seed + 1, k])
                keep = 1.0 / (1.0 + np.exp((r - onset) / 0.06))  # logistic fade per class
                z = sign * (2.2 * keep) + difficulty * (0.6 + 2 * r) + seed_shift - 1.0
                z += g.standard_normal((images, len(classes))) * (0.5 + 1.5 * r)
                p = (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
                if r >= 0.9:
                    p = np.round(p, 4).astype(np.float32)
                df = pd.DataFrame(p, columns=classes)
                df["label"] = label_col
                df.to_pickle(preds / f"{dataset}_resnet50_seed-{seed}_prune-{ratio_name(r)}.pkl")
        print(f"  fixture: {dataset} written ({time.perf_counter() - t0:.0f} s)", flush=True)
    stamp.write_text(json.dumps(manifest))
    return manifest


def write_metadata(root: Path, images: int) -> Path:
    """Per-image metadata for the test ids both datasets share (``test/0000000.jpg``): ~3 images per
    patient, NIH's sex and view mix, ages 1..95 (for the subgroup section)."""
    path = root / "metadata.csv"
    if path.is_file() and len(pd.read_csv(path, usecols=["image_id"])) == images:
        return path
    rng = np.random.default_rng([9, images])
    pd.DataFrame(
        {
            "image_id": [f"test/{i:07d}.jpg" for i in range(images)],
            "patient_id": rng.integers(0, max(1, images // 3), images),
            "sex": rng.choice(["M", "F"], images, p=[0.565, 0.435]),
            "age": np.clip(rng.normal(47, 17, images).round(), 1, 95).astype(int),
            "view": rng.choice(["PA", "AP"], images, p=[0.6, 0.4]),
        }
    ).to_csv(path, index=False)
    return path


def dataset_dirs(root: Path, dataset: str) -> tuple[Path, Path]:
    return root / dataset / "preds", root / dataset / "labels"


def pred_path(preds: Path, dataset: str, seed: int, r: float) -> Path:
    return preds / f"{dataset}_resnet50_seed-{seed}_prune-{ratio_name(r)}.pkl"


# --- the baseline: the paper scripts' approach ------------------------------------------------------


def baseline_main(root: Path, out: Path, seeds: int, n_sparsities: int) -> None:
    """``main_analysis.py``'s approach for every dataset in one process (Figs 1-4 as PDF)."""
    from itertools import combinations

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.spatial.distance import euclidean
    from sklearn.metrics import average_precision_score, precision_recall_fscore_support, roc_auc_score

    ratios = sparsity_grid(n_sparsities)
    overall = []
    for dataset, classes in DATASETS.items():
        preds, labels = dataset_dirs(root, dataset)
        y_test = pd.read_csv(labels / f"miccai2023_{dataset}_labels_test.csv")
        y_train = pd.read_csv(labels / f"miccai2023_{dataset}_labels_train.csv")
        per_set = {}
        for seed in range(seeds):  # one pickle and one scikit-learn evaluation per (seed, sparsity)
            for r in ratios:
                y_hat = pd.read_pickle(pred_path(preds, dataset, seed, r))
                yt, yh = y_test[classes], y_hat[classes]
                aucs = roc_auc_score(yt, yh, average=None)
                aps = average_precision_score(yt, yh, average=None)
                _, _, f1s, _ = precision_recall_fscore_support(yt, yh.round(), zero_division=0)
                per_set[seed, r] = pd.DataFrame({"aucs": aucs, "aps": aps, "f1s": f1s})
        rows = {"seed": [], "ratio": [], "label": [], "auc": [], "ap": [], "f1": []}
        for seed in range(seeds):  # the long-format table, row by row
            for r in ratios:
                m = per_set[seed, r]
                for i, c in enumerate(classes):
                    for key, value in (("seed", seed), ("ratio", r), ("label", c)):
                        rows[key].append(value)
                    rows["auc"].append(m["aucs"][i])
                    rows["ap"].append(m["aps"][i])
                    rows["f1"].append(m["f1s"][i])
        cm = pd.DataFrame(rows)
        np.savez(
            out / f"baseline_{dataset}_metrics.npz",
            auc=cm["auc"].to_numpy().reshape(seeds, len(ratios), len(classes)),
            ap=cm["ap"].to_numpy().reshape(seeds, len(ratios), len(classes)),
        )
        ov = cm.groupby(["seed", "ratio"], as_index=False)[["auc", "ap", "f1"]].mean()
        overall.append(ov.assign(dataset=dataset))
        dense = cm[cm["ratio"] == 0][["auc", "ap", "f1"]].reset_index(drop=True)
        diffs = []
        for r in ratios[1:]:  # relative change per sparsity, matched by row position
            d = (cm[cm["ratio"] == r][["auc", "ap", "f1"]].reset_index(drop=True) - dense) / (dense + 1e-12)
            d[["seed", "label"]] = cm[cm["ratio"] == 0][["seed", "label"]].reset_index(drop=True)
            d["ratio"] = r
            diffs.append(d)
        diff = pd.concat(diffs, axis=0).reset_index(drop=True)
        delta = diff.groupby(["label", "ratio"], as_index=False).agg({"auc": "median", "ap": "median"})
        train_freq = y_train[classes].sum(0)
        first_drop, curves = {}, {}
        for c in classes:
            sub = delta[delta["label"] == c].reset_index(drop=True)
            below = np.where(sub["ap"] < -0.2)[0]
            first_drop[c] = sub.loc[below[0], "ratio"] if len(below) else np.nan
            curves[c] = sub["ap"].values
        delta["train_freq"] = delta["label"].map(train_freq)
        delta["first_drop_20_percent"] = delta["label"].map(first_drop)
        extreme = delta[delta["ratio"] == ratios[-1]].copy()
        extreme["log_train_freq"] = np.log(extreme["train_freq"])
        cooc = pd.DataFrame(np.dot(y_test[classes].T, y_test[classes]), index=classes, columns=classes)
        pairs = {"a": [], "b": [], "fcd": [], "iou": [], "fa": [], "fb": []}
        for a, b in combinations(classes, 2):
            pairs["a"].append(a)
            pairs["b"].append(b)
            pairs["fcd"].append(euclidean(curves[a], curves[b]))
            pairs["iou"].append(cooc.loc[a, b] / (cooc[a].sum() + cooc[b].sum() - cooc.loc[a, b]))
            pairs["fa"].append(cooc[a].sum())
            pairs["fb"].append(cooc[b].sum())
        pair_df = pd.DataFrame(pairs)
        pair_df["log_diff"] = (np.log(pair_df["fa"]) - np.log(pair_df["fb"])).abs()
        pair_df["scaled_iou"] = pair_df["iou"] ** 0.25
        fig, ax = plt.subplots(1, 2, figsize=(8, 3.5), sharey=True)  # Fig 2
        for c in classes[:6]:
            sub = diff[diff["label"] == c].groupby("ratio")["ap"].median()
            ax[0].plot(sub.index, sub.values, label=c)
            ax[1].plot(sub.index, diff[diff["label"] == c].groupby("ratio")["auc"].median().values)
        ax[0].legend()
        fig.tight_layout()
        fig.savefig(out / f"baseline_{dataset}_curves.pdf", bbox_inches="tight")
        plt.close(fig)
        fig, ax = plt.subplots(1, 2, figsize=(8, 3))  # Fig 3: scatter and fitted line
        for k, x in enumerate(["first_drop_20_percent", "ap"]):
            data = extreme.dropna(subset=[x])
            ax[k].scatter(data[x], data["log_train_freq"], s=75)
            if len(data) > 1:
                ax[k].plot(data[x], np.poly1d(np.polyfit(data[x], data["log_train_freq"], 1))(data[x]), "--")
        fig.tight_layout()
        fig.savefig(out / f"baseline_{dataset}_frequency.pdf", bbox_inches="tight")
        plt.close(fig)
        fig, ax = plt.subplots(1, 2, figsize=(8, 3), sharey=True)  # Fig 4
        for k, x in enumerate(["log_diff", "scaled_iou"]):
            ax[k].scatter(pair_df[x], pair_df["fcd"], s=50)
            ax[k].plot(pair_df[x], np.poly1d(np.polyfit(pair_df[x], pair_df["fcd"], 1))(pair_df[x]), "--")
        fig.tight_layout()
        fig.savefig(out / f"baseline_{dataset}_fcd.pdf", bbox_inches="tight")
        plt.close(fig)
    ov = pd.concat(overall)
    fig, ax = plt.subplots(1, 1, figsize=(4, 3))  # Fig 1: median over seeds per dataset
    for dataset, g in ov.groupby("dataset"):
        med = g.groupby("ratio")["ap"].median()
        ax.plot(med.index, med.values, label=dataset)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "baseline_overall.pdf", bbox_inches="tight")
    plt.close(fig)


def baseline_pie(root: Path, out: Path, dataset: str, seeds: int, n_sparsities: int) -> None:
    """``pie_analysis.py``'s approach for one dataset: seed means per sparsity, pandas ``corrwith``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = DATASETS[dataset]
    ratios = sparsity_grid(n_sparsities)
    preds, labels = dataset_dirs(root, dataset)
    avg = {}
    for r in ratios:
        y_hats = [pd.read_pickle(pred_path(preds, dataset, s, r))[classes].values for s in range(seeds)]
        avg[r] = pd.DataFrame(np.stack(y_hats, axis=0).mean(axis=0), columns=classes)
    corrs = {r: avg[0].corrwith(avg[r], method="spearman", axis=1) for r in ratios[1:]}
    corr_df = pd.concat([pd.DataFrame({"id": range(c.size), "ratio": r, "corr": c}) for r, c in corrs.items()])
    at = min(corrs, key=lambda r: abs(r - PIE_SPARSITY))
    c = corrs[at]
    pie_idx = np.argsort(c.to_numpy(), kind="stable")[: int(PIE_Q * c.size)]  # ties by image index, as ours
    np.save(out / f"baseline_{dataset}_pies.npy", np.sort(pie_idx))
    y_test = pd.read_csv(labels / f"miccai2023_{dataset}_labels_test.csv")
    y_test["n_diseases"] = y_test[[k for k in classes if k != "No Finding"]].sum(1)
    rest = y_test.drop(index=pie_idx)
    freq = pd.DataFrame(
        {
            "label": classes,
            "pie_freq": y_test.loc[pie_idx, classes].sum(0) / len(pie_idx),
            "non_pie_freq": rest[classes].sum(0) / len(rest),
        }
    )
    freq["freq_ratio"] = freq["pie_freq"] / freq["non_pie_freq"]
    fig, ax = plt.subplots(1, 1, figsize=(7, 3))
    ax.bar(range(len(classes)), freq["freq_ratio"])
    ax.axhline(1, linestyle="--", color="black")
    fig.tight_layout()
    fig.savefig(out / f"baseline_{dataset}_pie_freq_ratio.pdf", bbox_inches="tight")
    plt.close(fig)
    bins = []
    for part in (y_test.loc[pie_idx], rest):
        counts = np.bincount(np.minimum(part["n_diseases"].to_numpy(), 4), minlength=5)
        bins.append(counts / len(part))
    fig, ax = plt.subplots(1, 1, figsize=(3, 3))
    ax.bar(range(5), bins[0] / bins[1])
    fig.tight_layout()
    fig.savefig(out / f"baseline_{dataset}_pie_n_disease_ratio.pdf", bbox_inches="tight")
    plt.close(fig)
    del corr_df


def ours_pie(root: Path, out: Path, dataset: str) -> None:
    """Our PIE selection alone, files to PIE set: seeds streamed by ``iter_prunecxr`` into a float64
    sum, then ``select_pies_from_mean`` (what ``load_paper_layout`` does, minus the metrics)."""
    from pruning.engine.pies import select_pies_from_mean
    from pruning.engine.prunecxr import iter_prunecxr

    preds, _ = dataset_dirs(root, dataset)
    total, n, sparsities = None, 0, None
    for ps in iter_prunecxr(preds, dataset):
        total = ps.probs.astype(np.float64) if total is None else total.__iadd__(ps.probs)
        n, sparsities = n + 1, ps.sparsities
    total /= n
    sel = select_pies_from_mean(total, sparsities, PIE_SPARSITY, PIE_Q, n_seeds=n)
    np.save(out / f"ours_{dataset}_pies.npy", np.sort(sel.pie_indices))


# --- running and measuring -------------------------------------------------------------------------


def measured(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd`` as a child; its wall time, CPU time and its own peak RSS (os.wait4)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{out.decode(errors='replace')[-3000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def run_baseline(root: Path, out: Path, seeds: int, n_sparsities: int) -> dict:
    me = [sys.executable, __file__, "--fixture", str(root), "--out", str(out), "--seeds", str(seeds)]
    me += ["--sparsities", str(n_sparsities)]
    parts = {"main_analysis (both datasets)": measured([*me, "--child", "main"])}
    for dataset in DATASETS:
        parts[f"pie_analysis ({dataset})"] = measured([*me, "--child", "pie", "--dataset", dataset])
    return parts


def run_ours(root: Path, out: Path, who: bool = False) -> dict:
    """One ``manage.py forgettability`` for both datasets (as ``main_analysis.py`` reads both):
    a report each under out/ours/<dataset>; without the issue-20 sections (``--no-who``: the run the
    README's figures measured) unless ``who`` (then under out/ours-who, with the fixture's metadata)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "manage.py", "forgettability", "--prunecxr-preds"]
    cmd += [str(dataset_dirs(root, d)[0]) for d in DATASETS] + ["--labels"]
    cmd += [str(dataset_dirs(root, d)[1]) for d in DATASETS] + ["--dataset", *DATASETS]
    cmd += ["--formats", "png", "--no-progress"]
    if who:
        cmd += ["--out", str(out / "ours-who"), "--metadata", str(root / "metadata.csv")]
    else:
        cmd += ["--out", str(out / "ours"), "--no-who"]
    return {"forgettability (both datasets)": measured(cmd, env)}


def print_who(ours_runs: list[dict], who_runs: list[dict], out: Path) -> None:
    """What the new sections add to the current run (medians of interleaved runs), ratio last."""
    ours = {k: statistics.median(r[k] for r in ours_runs) for k in ("wall", "cpu", "rss_mb")}
    who = {k: statistics.median(r[k] for r in who_runs) for k in ("wall", "cpu", "rss_mb")}
    for dataset in DATASETS:
        gaps = pd.read_csv(out / "ours-who" / dataset / "subgroup_gaps.csv")
        print(f"{dataset}: sections written ({len(gaps)} gap rows, {gaps['attribute'].nunique()} attributes)")
    print(f"  current runs (wall s): {[round(r['wall'], 1) for r in ours_runs]}")
    print(f"  with sections (wall s): {[round(r['wall'], 1) for r in who_runs]}")
    print(f"current forgettability run (--no-who), median of {len(ours_runs)}: {fmt(ours)}")
    print(f"with the subgroup, calibration and uncertainty sections, median of {len(who_runs)}: {fmt(who)}")
    add_wall, add_cpu = who["wall"] - ours["wall"], who["cpu"] - ours["cpu"]
    print(
        f"sections add {add_wall:.1f} s wall, {add_cpu:.1f} s CPU, {who['rss_mb'] - ours['rss_mb']:+.0f} MB peak; "
        f"ratio current run / added: {ours['wall'] / max(add_wall, 1e-9):.2f}x wall, "
        f"{ours['cpu'] / max(add_cpu, 1e-9):.2f}x CPU (> 1 means the sections add less than the current run takes)"
    )


def run_ours_pie(root: Path, out: Path, seeds: int, n_sparsities: int) -> dict:
    me = [sys.executable, __file__, "--fixture", str(root), "--out", str(out), "--seeds", str(seeds)]
    me += ["--sparsities", str(n_sparsities), "--child", "ours-pie"]
    return {dataset: measured([*me, "--dataset", dataset]) for dataset in DATASETS}


def total(parts: dict) -> dict:
    return {
        "wall": sum(p["wall"] for p in parts.values()),
        "cpu": sum(p["cpu"] for p in parts.values()),
        "rss_mb": max(p["rss_mb"] for p in parts.values()),
    }


def check_same_results(out: Path) -> list[str]:
    """Our PIE sets and metrics against the baseline's (both read back from what each side wrote)."""
    lines = []
    for dataset in DATASETS:
        ours_pies = pd.read_csv(out / "ours" / dataset / "pies.csv")
        mine = np.sort(ours_pies.loc[ours_pies["is_pie"], "image_index"].to_numpy())
        theirs = np.load(out / f"baseline_{dataset}_pies.npy")
        same = np.array_equal(mine, theirs)
        lines.append(
            f"{dataset}: PIE sets {'identical' if same else 'DIFFER'} ({len(mine)} ours, {len(theirs)} baseline"
            + ("" if same else f", {len(np.setxor1d(mine, theirs))} images in one set only")
            + ")"
        )
        cm = pd.read_csv(out / "ours" / dataset / "class_metrics.csv")
        ref = np.load(out / f"baseline_{dataset}_metrics.npz")
        diff = max(
            float(np.max(np.abs(cm[k].to_numpy() - ref[k].ravel()))) for k in ("auc", "ap")
        )  # same (seed, sparsity, class) order on both sides
        lines.append(f"{dataset}: max |AUROC, AP ours - scikit-learn| = {diff:.1e}")
        if diff > 1e-12:
            sys.exit(f"{dataset}: metrics differ from scikit-learn by {diff}")
    return lines


def print_pie_comparison(out: Path, base_parts: dict, pie_runs: list[dict]) -> None:
    """PIE selection, files to PIE set: ours alone vs the baseline's pie_analysis process."""
    for dataset in DATASETS:
        same = np.array_equal(np.load(out / f"ours_{dataset}_pies.npy"), np.load(out / f"baseline_{dataset}_pies.npy"))
        ours = {k: statistics.median(r[dataset][k] for r in pie_runs) for k in ("wall", "cpu", "rss_mb")}
        base = base_parts[f"pie_analysis ({dataset})"]
        print(
            f"PIE selection {dataset} (files -> PIE set; {'identical' if same else 'DIFFERENT'} sets): "
            f"ours {fmt(ours)}; pie_analysis {fmt(base)}; ratio {base['wall'] / ours['wall']:.1f}x wall, "
            f"{base['cpu'] / ours['cpu']:.1f}x CPU"
        )


def fmt(p: dict) -> str:
    return f"{p['wall']:7.1f} s wall {p['cpu']:7.1f} s CPU {p['rss_mb']:6.0f} MB peak"


def scale_curve(args) -> None:
    print(
        f"scale curve: ours at 1x, 2x, 4x of {args.images:,} test images ({args.seeds} seeds x "
        f"{args.sparsities} sparsities x 2 datasets); the baseline is not rerun at 2x and 4x"
    )
    rows = []
    for k in (1, 2, 4):
        root = Path(f"{args.fixture}-x{k}") if k > 1 else Path(args.fixture)
        write_fixture(root, args.seeds, args.sparsities, args.images * k)
        out = Path(args.out) / f"x{k}"
        out.mkdir(parents=True, exist_ok=True)
        runs = [total(run_ours(root, out)) for _ in range(args.repeats)]
        med = {key: statistics.median(r[key] for r in runs) for key in ("wall", "cpu", "rss_mb")}
        rows.append((k, med))
        print(f"  {k}x ({args.images * k:,} images): {fmt(med)}", flush=True)
    base = rows[0][1]
    for k, med in rows[1:]:
        print(
            f"  {k}x / 1x: wall {med['wall'] / base['wall']:.2f}, CPU {med['cpu'] / base['cpu']:.2f}, "
            f"peak memory {med['rss_mb'] / base['rss_mb']:.2f} (linear would be {k})"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixture", default=str(ROOT / "var" / "bench" / "paper_scale"))
    ap.add_argument("--out", default=str(ROOT / "var" / "bench" / "paper_scale_out"))
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--sparsities", type=int, default=20)
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3, help="runs of ours (the baseline runs once)")
    ap.add_argument("--scale-curve", action="store_true", help="ours at 1x, 2x and 4x the test-set size")
    ap.add_argument("--who-only", action="store_true", help="only ours with and without the issue-20 sections")
    ap.add_argument("--child", choices=["main", "pie", "ours-pie"], help=argparse.SUPPRESS)
    ap.add_argument("--dataset", help=argparse.SUPPRESS)
    args = ap.parse_args()
    root, out = Path(args.fixture), Path(args.out)
    if args.child == "main":
        return baseline_main(root, out, args.seeds, args.sparsities)
    if args.child == "pie":
        return baseline_pie(root, out, args.dataset, args.seeds, args.sparsities)
    if args.child == "ours-pie":
        return ours_pie(root, out, args.dataset)
    free = shutil.disk_usage(root.parent if root.parent.exists() else ROOT).free / 2**30
    need = 2 * args.seeds * args.sparsities * args.images * 105 / 2**30  # ~105 bytes per image row
    if args.scale_curve:
        need *= 7
    if free < need + 1:
        sys.exit(f"not enough disk for the fixture: {need:.1f} GiB needed, {free:.1f} GiB free")
    print(
        f"fixture: {args.seeds} seeds x {args.sparsities} sparsities x {args.images:,} images x 2 datasets "
        f"({2 * args.seeds * args.sparsities:,} pickles, ~{need:.1f} GiB) in {root}",
        flush=True,
    )
    if args.scale_curve:
        return scale_curve(args)
    write_fixture(root, args.seeds, args.sparsities, args.images)
    write_metadata(root, args.images)
    out.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    if args.who_only:
        runs = [(total(run_ours(root, out)), total(run_ours(root, out, who=True))) for _ in range(args.repeats)]
        print(f"load average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        return print_who([a for a, _ in runs], [b for _, b in runs], out)
    ours_runs = [total(run_ours(root, out))]
    who_runs = [total(run_ours(root, out, who=True))]
    base_parts = run_baseline(root, out, args.seeds, args.sparsities)
    for _ in range(args.repeats - 1):
        ours_runs.append(total(run_ours(root, out)))
        who_runs.append(total(run_ours(root, out, who=True)))
    pie_runs = [run_ours_pie(root, out, args.seeds, args.sparsities) for _ in range(args.repeats)]
    for line in check_same_results(out):
        print(line)
    print_pie_comparison(out, base_parts, pie_runs)
    print_who(ours_runs, who_runs, out)
    base = total(base_parts)
    for name, p in base_parts.items():
        print(f"  baseline {name:<32} {fmt(p)}")
    ours = {key: statistics.median(r[key] for r in ours_runs) for key in ("wall", "cpu", "rss_mb")}
    print(f"  ours runs (wall s): {[round(r['wall'], 1) for r in ours_runs]}")
    print(f"load average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"baseline (paper scripts' approach, 3 processes): {fmt(base)}")
    print(f"ours (manage.py forgettability, both datasets, median of {len(ours_runs)}): {fmt(ours)}")
    print(
        f"ratio baseline/ours: {base['wall'] / ours['wall']:.1f}x wall, {base['cpu'] / ours['cpu']:.1f}x CPU; "
        f"peak memory ours {ours['rss_mb']:.0f} MB vs baseline {base['rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
