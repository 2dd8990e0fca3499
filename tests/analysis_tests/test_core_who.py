"""The planted-mechanism check of the who sections: recovered only when AP films are PIEs more often."""

import numpy as np
import pandas as pd

from analysis.core.who import SeedViews, compute_who
from common.metadata import NA

NAMES = ["No Finding", "Effusion", "Nodule"]


def _run(is_pie, view, quality):
    rng = np.random.default_rng(0)
    n = len(view)
    y = (rng.random((n, 3)) < [0, 0.3, 0.2]).astype(np.uint8)
    y[:, 0] = y[:, 1:].sum(1) == 0
    probs = rng.random((2, 3, n, 3)).astype(np.float32)
    ids = [f"i{k}" for k in range(n)]
    meta = pd.DataFrame({"patient_id": ids, "sex": NA, "age_band": NA, "view": view}, index=ids)
    truth = pd.DataFrame({"image_id": ids, "quality": quality, "portable_degraded": (view == "AP").astype(int)})
    return compute_who(
        mean_probs=probs.mean(0), labels=y, levels=np.array([0, 0.5, 0.9]), class_names=NAMES, image_ids=ids,
        train_counts=y.sum(0), views=SeedViews.from_probs(probs, 2, NAMES), metadata=meta, is_pie=is_pie,
        pie_level=0.9, hidden_truth=truth, n_boot=50, n_boot_pies=3,
    ).summary["planted"]  # fmt: skip


def test_planted_mechanism_is_recovered_when_ap_films_are_enriched_among_pies():
    rng = np.random.default_rng(1)
    view = rng.choice(["AP", "PA"], 2000)
    quality = np.where(view == "AP", 3, 4)
    is_pie = rng.random(2000) < np.where(view == "AP", 0.09, 0.03)
    planted = _run(is_pie, view, quality)
    assert planted["recovered"] is True and planted["p_holm"] < 0.001 and planted["odds_ratio"] > 2
    assert "recovered: AP films are PIEs at" in planted["sentence"] and "Fisher p < 0.001" in planted["sentence"]


def test_planted_mechanism_is_not_recovered_when_pies_ignore_the_view():
    rng = np.random.default_rng(2)
    view = rng.choice(["AP", "PA"], 2000)
    planted = _run(rng.random(2000) < 0.05, view, np.full(2000, 4))
    assert planted["recovered"] is False and "not recovered" in planted["sentence"]
