"""Small inputs for the analysis Django tests: a folder in the paper's released layout and our own
prediction stores over a fake synthetic dataset. Rare classes are made to degrade faster with
sparsity, so every correlation is defined (not NaN) and PIEs exist."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from pruning.engine.prunecxr import export_prunecxr
from pruning.engine.store import PredictionSet

DATASET = "nih-cxr-lt"
CLASSES = ["No Finding", "Effusion", "Nodule", "Pneumothorax", "Hernia"]
PREVALENCE = np.array([0.5, 0.3, 0.2, 0.12, 0.08])
SPARSITIES = np.array([0.0, 0.5, 0.9, 0.95])
SEEDS = (0, 1)
N_TEST, N_TRAIN = 60, 200


def make_labels(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = (rng.random((n, len(CLASSES))) < PREVALENCE).astype(np.uint8)
    k = min(n, len(CLASSES))
    y[np.arange(k), np.arange(k)] = 1  # every class has positives (given n >= C)
    return y


def make_sets(y_test: np.ndarray) -> list[PredictionSet]:
    ids = [f"img{i:04d}.png" for i in range(len(y_test))]
    rarity = 1 - PREVALENCE / PREVALENCE.max()  # 0 for the head class, ~1 for the tail
    sets = []
    for seed in SEEDS:
        rng = np.random.default_rng(100 + seed)
        sign = y_test.astype(float) * 2 - 1
        strength = 2.5 * (1 - SPARSITIES[:, None, None] * (0.3 + 0.7 * rarity[None, None, :]))
        logits = sign[None] * strength + rng.normal(size=(len(SPARSITIES), *y_test.shape))
        sets.append(PredictionSet(1 / (1 + np.exp(-logits)), SPARSITIES, ids, CLASSES))
    return sets


def write_label_csvs(folder: Path, y_train: np.ndarray, y_test: np.ndarray, dataset: str = DATASET) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for split, y in (("train", y_train), ("test", y_test)):
        df = pd.DataFrame(y, columns=CLASSES)
        df.insert(0, "id", [f"{split}{i:04d}.png" if split == "train" else f"img{i:04d}.png" for i in range(len(y))])
        df.to_csv(folder / f"miccai2023_{dataset}_labels_{split}.csv", index=False)


def write_paper_layout(root: Path) -> dict[str, Path]:
    """root/preds/*.pkl (2 seeds x 4 sparsities) and root/labels/miccai2023_*_labels_{train,test}.csv."""
    y_test, y_train = make_labels(N_TEST, 1), make_labels(N_TRAIN, 2)
    export_prunecxr(make_sets(y_test), DATASET, root / "preds", y_test, seeds=list(SEEDS))
    write_label_csvs(root / "labels", y_train, y_test)
    return {"preds": root / "preds", "labels": root / "labels"}


def write_stores(root: Path) -> dict:
    """Prediction stores at root/seed-<s>/predictions.npz over a fake synthetic dataset at root/data
    (label CSVs, dataset.json and hidden_truth.csv; no images, which the analysis never opens)."""
    y_test, y_train = make_labels(N_TEST, 1), make_labels(N_TRAIN, 2)
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "dataset.json").write_text(json.dumps({"name": "fake", "classes": CLASSES}))
    ids = {
        "train": [f"train{i:04d}.png" for i in range(N_TRAIN)],
        "val": ["val0000.png", "val0001.png"],
        "test": [f"img{i:04d}.png" for i in range(N_TEST)],
    }
    y_val = make_labels(2, 3)
    for split, y in (("train", y_train), ("val", y_val), ("test", y_test)):
        df = pd.DataFrame(y, columns=CLASSES)
        df.insert(0, "id", ids[split])
        df.to_csv(data / f"labels_{split}.csv", index=False)
    rng = np.random.default_rng(7)
    all_ids = ids["train"] + ids["val"] + ids["test"]
    pd.DataFrame(
        {"id": all_ids, "label_noise": rng.random(len(all_ids)) < 0.1, "quality": rng.integers(1, 6, len(all_ids))}
    ).to_csv(data / "hidden_truth.csv", index=False)
    paths = []
    for seed, ps in zip(SEEDS, make_sets(y_test), strict=True):
        path = root / f"seed-{seed}" / "predictions.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        ps.save(path)
        paths.append(path)
    return {"paths": paths, "spec": {"kind": "synthetic", "root": str(data)}}
