"""Correlations against scipy, seeded bootstrap CIs and the Mantel permutation test."""

import numpy as np
import pytest
from scipy import stats

from analysis.core.stats import correlate, mantel_p


def test_correlations_and_p_values_match_scipy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=25)
    y = x + rng.normal(size=25)
    c = correlate(x, y, n_boot=500)
    assert c.r == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)
    assert c.r_p == pytest.approx(stats.pearsonr(x, y).pvalue, rel=1e-9)
    assert c.rho == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert c.rho_p == pytest.approx(stats.spearmanr(x, y).pvalue, rel=1e-9)
    assert c.r_ci[0] < c.r < c.r_ci[1] and c.rho_ci[0] < c.rho < c.rho_ci[1]
    assert c.n == 25 and c.n_boot_valid == 500


def test_bootstrap_is_reproducible_with_a_seed():
    x, y = np.arange(10.0), np.array([1, 3, 2, 5, 4, 6, 8, 7, 9, 10.0])
    assert correlate(x, y, seed=4).r_ci == correlate(x, y, seed=4).r_ci
    assert correlate(x, y, seed=4).r_ci != correlate(x, y, seed=5).r_ci


def test_missing_values_are_dropped_and_counted():
    c = correlate([1, 2, np.nan, 4, 5], [2, 4, 6, np.inf, 10], n_boot=50)
    assert c.n == 3 and c.r == pytest.approx(1.0)


def test_constant_input_or_too_few_pairs_gives_nan_not_an_error():
    assert np.isnan(correlate([1, 2, 3], [5, 5, 5]).r)
    assert np.isnan(correlate([1, 2], [3, 4]).rho)
    d = correlate([1, 2], [3, 4]).to_dict()
    assert d["r"] is None and d["r_ci"] == [None, None]


def test_mantel_p_is_small_for_related_and_large_for_unrelated_matrices():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(10, 2))
    a = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    assert mantel_p(a, a * 2 + 1, n_perm=199) == pytest.approx(1 / 200)
    other = rng.random((10, 10))
    other = other + other.T
    assert mantel_p(a, other, n_perm=199, method="spearman") > 0.05
