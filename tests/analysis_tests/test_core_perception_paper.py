"""Paper-exact Figure 6 statistics and the bootstrap effect sizes, against scipy/numpy on fixed data."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.core.perception.data import PerceptionInputError, prepare
from analysis.core.perception.effects import draw_weights, effect_sizes
from analysis.core.perception.paper import descriptive_table, distribution_table, paper_tests_table
from tests.analysis_tests.perception_data import fixed_tidy, tidy_from


def _groups(tidy, q):
    rows = tidy[(tidy["question"] == q) & tidy["value_numeric"].notna()]
    return (
        rows.loc[rows["is_pie"] == 1, "value_numeric"].to_numpy(float),
        rows.loc[rows["is_pie"] == 0, "value_numeric"].to_numpy(float),
    )


def test_descriptive_table_gives_pooled_mean_and_sample_sd_per_group():
    tidy = fixed_tidy()
    table = descriptive_table(prepare(tidy)).set_index(["question", "group"])
    for q in ("agree_label", "quality", "difficulty"):
        pie, non = _groups(tidy, q)
        assert table.loc[(q, "PIE"), "mean"] == pytest.approx(pie.mean())
        assert table.loc[(q, "PIE"), "sd"] == pytest.approx(pie.std(ddof=1))
        assert table.loc[(q, "non-PIE"), "sd"] == pytest.approx(non.std(ddof=1))
        assert table.loc[(q, "non-PIE"), "median"] == pytest.approx(np.median(non))
        assert table.loc[(q, "PIE"), "iqr"] == pytest.approx(np.subtract(*np.percentile(pie, [75, 25])))
        assert table.loc[(q, "PIE"), "n"] == len(pie)


def test_tests_table_matches_scipy_welch_mann_whitney_and_kruskal():
    tidy = fixed_tidy(seed=3)
    table = paper_tests_table(prepare(tidy)).set_index("question")
    for q in ("agree_label", "quality", "difficulty"):
        pie, non = _groups(tidy, q)
        assert table.loc[q, "welch_p"] == pytest.approx(stats.ttest_ind(pie, non, equal_var=False).pvalue, rel=1e-12)
        assert table.loc[q, "welch_t"] == pytest.approx(stats.ttest_ind(pie, non, equal_var=False).statistic)
        assert table.loc[q, "mwu_p"] == pytest.approx(stats.mannwhitneyu(pie, non).pvalue, rel=1e-12)
        assert table.loc[q, "kw_p"] == pytest.approx(stats.kruskal(pie, non).pvalue, rel=1e-12)


def test_unanswered_rows_are_left_out_of_the_paper_statistics():
    tidy = fixed_tidy()
    tidy.loc[tidy.index[:5], "value_numeric"] = np.nan
    pie, non = _groups(tidy, "agree_label")
    table = descriptive_table(prepare(tidy)).set_index(["question", "group"])
    assert table.loc[("agree_label", "PIE"), "n"] == len(pie)
    assert table.loc[("agree_label", "PIE"), "mean"] == pytest.approx(pie.mean())


def test_distribution_lists_every_scale_point_with_its_percentage():
    tidy = tidy_from({"quality": [("R1", 1, True, 2), ("R1", 2, True, 2), ("R1", 3, False, 5)]})
    dist = distribution_table(prepare(tidy))
    pie = dist[dist["group"] == "PIE"].set_index("value")
    assert list(pie.index) == [1, 2, 3, 4, 5]
    assert pie.loc[2, "percent"] == 100 and pie.loc[4, "count"] == 0


def test_missing_required_column_is_an_input_error_naming_it():
    with pytest.raises(PerceptionInputError, match="is_pie"):
        prepare(fixed_tidy().drop(columns=["is_pie"]))


def test_point_effects_equal_direct_computation():
    tidy = fixed_tidy(seed=5)
    eff = effect_sizes(prepare(tidy), n_boot=200).set_index(["question", "effect"])
    pie, non = _groups(tidy, "quality")
    assert eff.loc[("quality", "difference_in_means"), "estimate"] == pytest.approx(pie.mean() - non.mean())
    pairs = [np.sign(a - b) for a, b in itertools.product(pie, non)]
    assert eff.loc[("quality", "cliffs_delta"), "estimate"] == pytest.approx(np.mean(pairs))
    p, n = _groups(tidy, "agree_label")
    odds = (p.sum() / (len(p) - p.sum())) / (n.sum() / (len(n) - n.sum()))
    assert eff.loc[("agree_label", "odds_ratio"), "estimate"] == pytest.approx(odds)
    for row in eff.itertuples():
        assert row.ci_low <= row.estimate <= row.ci_high


def test_cluster_weights_resample_whole_readers_and_cases_within_group():
    pie = np.array([True, True, True, False, False])
    w = draw_weights(4, pie, 500, seed=1)
    assert (w.readers.sum(1) == 4).all()
    assert (w.cases[:, pie].sum(1) == 3).all() and (w.cases[:, ~pie].sum(1) == 2).all()


def test_bootstrap_ci_widens_when_readers_disagree_more():
    """Reader clustering must enter the CI: the same answers spread over readers with offsets give a
    wider CI than answers without reader offsets."""
    base = fixed_tidy(seed=2, n_readers=6, n_cases=30)
    shifted = base.copy()
    offset = shifted["reader"].str[1:].astype(int) % 2
    is_pie = (shifted["is_pie"] == 1) & (shifted["question"] != "agree_label")  # 1 and 5 are Likert points
    # Readers 1, 3, 5 see a larger PIE effect than readers 0, 2, 4.
    shifted.loc[is_pie & (offset == 1), "value_numeric"] = 1
    shifted.loc[~is_pie & (offset == 1) & (shifted["question"] != "agree_label"), "value_numeric"] = 5
    narrow = effect_sizes(prepare(base), n_boot=400).set_index(["question", "effect"])
    wide = effect_sizes(prepare(shifted), n_boot=400).set_index(["question", "effect"])
    key = ("quality", "difference_in_means")
    width = {name: t.loc[key, "ci_high"] - t.loc[key, "ci_low"] for name, t in (("wide", wide), ("narrow", narrow))}
    assert width["wide"] > 1.5 * width["narrow"]


def test_odds_ratio_with_a_zero_cell_is_not_estimable():
    tidy = tidy_from({"agree_label": [("R1", c, c < 3, 1 if c < 3 else c % 2) for c in range(8)]})
    eff = effect_sizes(prepare(tidy), n_boot=50).set_index("effect")
    assert eff.loc["odds_ratio", "note"].startswith("not estimable: a zero cell")
    assert pd.isna(eff.loc["odds_ratio", "estimate"])
