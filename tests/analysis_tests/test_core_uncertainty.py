"""Predicting PIEs from the dense model's uncertainty; PIE-set stability over seeds."""

import math

import numpy as np
from sklearn.metrics import roc_auc_score

from analysis.core.uncertainty import _spearman_rows, compute_uncertainty, delong, select_bottom


def _brute_delong_variance(pos, neg):
    psi = (pos[:, None] > neg[None]).astype(float) + 0.5 * (pos[:, None] == neg[None])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg), psi.mean()


def test_delong_auroc_and_ci_match_scikit_learn_and_the_pairwise_definition():
    rng = np.random.default_rng(1)
    y = rng.random(300) < 0.2
    s = np.round(rng.normal(size=300) + 0.8 * y, 1)  # rounded: ties
    auc, lo, hi, p = delong(s, y)
    var, brute_auc = _brute_delong_variance(s[y], s[~y])
    assert abs(auc - roc_auc_score(y, s)) < 1e-12 and abs(auc - brute_auc) < 1e-12
    assert np.isclose(hi - lo, 2 * 1.959964 * math.sqrt(var)) and p < 0.001


def test_uncertain_dense_predictions_predict_planted_pies():
    rng = np.random.default_rng(0)
    k, n, c = 4, 2000, 6
    hard = rng.random(n) < 0.1  # planted: hard images sit near 0.5 and the seeds disagree on them
    centre = rng.uniform(0.02, 0.98, (n, c))
    centre[hard, :2] = 0.5  # two of six classes: the measures overlap between PIEs and the rest
    dense = np.clip(centre + rng.normal(0, np.where(hard, 0.05, 0.03)[None, :, None], (k, n, c)), 0, 1)
    res = compute_uncertainty(dense, hard, dense, n_boot=5)
    t = res.auc.set_index("measure")
    for m in ("entropy", "low_margin", "disagreement"):
        assert t.loc[m, "auroc"] > 0.7 and t.loc[m, "ci_lo"] > 0.5 and t.loc[m, "p"] < 1e-6


def test_pie_set_is_perfectly_stable_when_every_seed_agrees():
    rng = np.random.default_rng(2)
    one_dense, one_sparse = rng.random((500, 8)), rng.random((500, 8))
    dense, sparse = np.stack([one_dense] * 3), np.stack([one_sparse] * 3)
    is_pie = select_bottom(_spearman_rows(one_dense, one_sparse), 25)
    res = compute_uncertainty(dense, is_pie, sparse, n_boot=4, seed=1)
    assert res.stability["jaccard_mean"] == 1.0 and res.stability["share_pies_selected_half"] == 1.0
    assert res.images.loc[is_pie, "selection_freq"].eq(1).all()


def test_noisy_seeds_give_a_less_stable_pie_set_reproducible_by_seed():
    rng = np.random.default_rng(3)
    dense, sparse = rng.random((5, 400, 8)), rng.random((5, 400, 8))
    is_pie = select_bottom(_spearman_rows(dense.mean(0), sparse.mean(0)), 20)
    a = compute_uncertainty(dense, is_pie, sparse, n_boot=10, seed=4).stability
    b = compute_uncertainty(dense, is_pie, sparse, n_boot=10, seed=4).stability
    assert a == b and a["jaccard_mean"] < 0.9


def test_one_seed_has_no_disagreement_and_no_stability_but_no_crash():
    rng = np.random.default_rng(4)
    dense = rng.random((1, 100, 5))
    res = compute_uncertainty(dense, np.arange(100) < 5, dense, n_boot=5)
    t = res.auc.set_index("measure")
    assert math.isnan(t.loc["disagreement", "auroc"]) and np.isfinite(t.loc["entropy", "auroc"])
    assert res.stability == {"n_boot": 0, "n_seeds": 1}
