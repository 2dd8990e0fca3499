"""Known answers for relative change, first 20% drop, FCD and the paper's co-occurrence quirk."""

import numpy as np
import pytest

from analysis.core.forgettability import (
    change_at,
    compute_forgettability,
    cooccurrence,
    fcd_matrix,
    fcd_pairs,
    first_sparsity_below,
    median_relative_change,
)


def test_median_is_taken_over_per_seed_relative_changes_not_of_median_metrics():
    # three seeds, dense and one pruned sparsity, one class
    ap = np.array([[[1.0], [0.5]], [[0.2], [0.19]], [[0.5], [0.1]]])
    # per seed: -0.5, -0.05, -0.8 -> median -0.5; the relative change of the medians
    # (0.19 - 0.5) / 0.5 = -0.62 would be wrong.
    assert median_relative_change(ap)[1, 0] == pytest.approx(-0.5)
    assert median_relative_change(ap)[0, 0] == 0.0


def test_zero_dense_metric_gives_nan_relative_change_not_a_huge_number():
    ap = np.array([[[0.0], [0.3]], [[0.4], [0.2]]])
    assert median_relative_change(ap)[1, 0] == pytest.approx(-0.5)  # NaN seed skipped


def test_first_drop_is_the_first_sparsity_strictly_below_minus_twenty_percent():
    s = np.array([0.0, 0.5, 0.7, 0.9])
    curves = np.array([[0.0, 0.0], [-0.1, -0.2], [-0.25, -0.19], [-0.5, -0.2]])
    got = first_sparsity_below(curves, s)
    assert got[0] == 0.7
    assert np.isnan(got[1])  # never strictly below -0.2: missing, not a crash


def test_change_at_95_falls_back_to_the_largest_sparsity_and_says_so():
    curves = np.array([[0.0], [-0.3], [-0.6]])
    at = change_at(curves, np.array([0.0, 0.5, 0.8]))
    assert (at.values[0], at.sparsity, at.is_target) == (-0.6, 0.8, False)
    assert "largest available" in at.label
    exact = change_at(curves, np.array([0.0, 0.5, 0.95]))
    assert exact.is_target and exact.label == "95% sparsity"


def test_fcd_is_euclidean_distance_between_curves():
    curves = np.array([[0.0, 0.0, 0.0], [0.0, -0.4, 0.0], [-0.3, 0.0, 0.0]])
    d = fcd_matrix(curves)
    assert d[0, 1] == pytest.approx(0.5)  # sqrt(0.4^2 + 0.3^2)
    assert d[0, 2] == pytest.approx(0.3)
    assert d[1, 0] == d[0, 1] and d[2, 2] == 0


def test_paper_iou_and_frequency_use_column_sums_of_the_cooccurrence_matrix():
    # images: {A,B}, {A}, {B,C}, {C}  ->  K = [[2,1,0],[1,2,1],[0,1,2]]
    y = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1]])
    co = cooccurrence(y)
    assert co.matrix.tolist() == [[2, 1, 0], [1, 2, 1], [0, 1, 2]]
    assert co.freq_paper.tolist() == [3, 4, 3]  # not the class counts 2, 2, 2
    assert co.freq_standard.tolist() == [2, 2, 2]
    assert co.iou_paper[0, 1] == pytest.approx(1 / (3 + 4 - 1))
    assert co.iou_standard[0, 1] == pytest.approx(1 / (2 + 2 - 1))
    assert co.iou_paper[0, 2] == 0


def test_fcd_pairs_lists_each_pair_once_with_both_definitions():
    y = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1]])
    curves = np.array([[0.0, 0.0, 0.0], [0.0, -0.4, 0.0], [-0.3, 0.0, 0.0]])
    pairs = fcd_pairs(curves, y, ["A", "B", "C"])
    assert list(pairs.columns) == [
        "class_a",
        "class_b",
        "fcd",
        "log_freq_diff",
        "iou_paper",
        "iou_standard",
        "log_freq_diff_standard",
    ]
    assert pairs[["class_a", "class_b"]].values.tolist() == [["A", "B"], ["A", "C"], ["B", "C"]]
    ab = pairs.iloc[0]
    assert ab["log_freq_diff"] == pytest.approx(np.log(4 / 3))
    assert ab["log_freq_diff_standard"] == 0
    assert ab["fcd"] == pytest.approx(0.5)


def test_forgettability_requires_a_dense_baseline():
    ap = np.ones((2, 2, 3))
    with pytest.raises(ValueError, match="start at 0"):
        compute_forgettability(ap, ap, np.array([0.1, 0.2]), ["a", "b", "c"])


def test_forgettability_table_has_one_row_per_class_and_sparsity():
    ap = np.array([[[0.8, 0.4], [0.6, 0.1]]])
    fr = compute_forgettability(ap, ap, np.array([0.0, 0.9]), ["a", "b"])
    t = fr.table()
    assert list(t.columns) == ["class", "sparsity", "median_rel_change_ap", "median_rel_change_auc"]
    assert t.iloc[3].tolist() == ["b", 0.9, pytest.approx(-0.75), pytest.approx(-0.75)]
    assert fr.first_drop_20.tolist() == [0.9, 0.9]
