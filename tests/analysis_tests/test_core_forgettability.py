"""Known answers for relative change, first 20% drop, FCD and the paper's co-occurrence quirk."""

import warnings

import numpy as np
import pytest

from analysis.core.forgettability import (
    DROP_THRESHOLD,
    TARGET_SPARSITY,
    ChangeAt,
    change_at,
    compute_forgettability,
    cooccurrence,
    fcd_matrix,
    fcd_pairs,
    first_sparsity_below,
    median_relative_change,
    relative_change,
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


# --- Known answers that pin each definition against plausible slips ---------------------------------------


def test_the_paper_constants_are_a_twenty_percent_drop_and_ninety_five_percent_sparsity():
    assert DROP_THRESHOLD == -0.2
    assert TARGET_SPARSITY == 0.95


def test_relative_change_is_per_seed_against_the_chosen_baseline_sparsity():
    m = np.array([[[0.5, 0.2], [0.4, 0.0], [0.1, 0.4]]])  # one seed, 3 sparsities, 2 classes
    np.testing.assert_allclose(relative_change(m), [[[0.0, 0.0], [-0.2, -1.0], [-0.8, 1.0]]])
    by_second = relative_change(m, baseline_index=1)
    assert by_second[0, :, 0].tolist() == pytest.approx([0.25, 0.0, -0.75])
    assert np.isnan(by_second[0, :, 1]).all()  # baseline 0.0: no relative change at any sparsity


def test_relative_change_wants_seeds_by_sparsities_by_classes():
    with pytest.raises(ValueError, match=r"metric must be \[seeds, S, C\]; got shape \(2, 3\)"):
        relative_change(np.ones((2, 3)))


def test_median_over_an_even_number_of_seeds_is_the_mean_of_the_middle_two():
    ap = np.array([[[1.0], [0.9]], [[1.0], [0.5]], [[1.0], [0.7]], [[1.0], [0.2]]])  # -0.1, -0.5, -0.3, -0.8
    assert median_relative_change(ap)[1, 0] == pytest.approx(-0.4)


def test_median_with_a_non_default_baseline():
    ap = np.array([[[0.2], [0.4]], [[0.3], [0.6]], [[0.1], [0.5]]])
    assert median_relative_change(ap, baseline_index=1)[0].tolist() == pytest.approx([-0.5])


def test_first_drop_takes_the_smallest_sparsity_even_when_given_unsorted_and_ignores_the_dense_row():
    s = np.array([0.9, 0.0, 0.5, 0.7])
    curves = np.array([[-0.5, -0.5], [-0.9, -0.9], [-0.1, -0.21], [-0.3, -0.5]])
    assert first_sparsity_below(curves, s).tolist() == [0.7, 0.5]


def test_first_drop_uses_the_given_threshold():
    s = np.array([0.0, 0.5, 0.9])
    curves = np.array([[0.0], [-0.3], [-0.6]])
    assert first_sparsity_below(curves, s, threshold=-0.5).tolist() == [0.9]
    assert first_sparsity_below(curves, s).tolist() == [0.5]


def test_change_at_picks_ninety_five_percent_even_when_a_larger_sparsity_exists():
    curves = np.array([[0.0, 0.0], [-0.4, -0.1], [-0.9, -0.2]])
    at = change_at(curves, np.array([0.0, 0.95, 0.99]))
    assert (at.values.tolist(), at.sparsity, at.is_target) == ([-0.4, -0.1], 0.95, True)
    at = change_at(curves, np.array([0.0, 0.95 + 1e-12, 0.99]))  # float noise still counts as 95%
    assert at.sparsity == pytest.approx(0.95) and at.is_target


def test_change_at_falls_back_to_the_largest_sparsity_wherever_it_sits():
    curves = np.array([[-0.7], [0.0], [-0.3]])
    at = change_at(curves, np.array([0.9, 0.0, 0.5]), target=0.6)
    assert (at.values.tolist(), at.sparsity, at.is_target) == ([-0.7], 0.9, False)
    assert at.label == "90% sparsity (largest available; no 95%)"
    assert change_at(curves, np.array([0.9, 0.0, 0.5]), target=0.5).values.tolist() == [-0.3]


def test_change_at_label_names_the_sparsity_used():
    assert ChangeAt(np.zeros(1), 0.95, True).label == "95% sparsity"
    assert ChangeAt(np.zeros(1), 0.875, True).label == "87.5% sparsity"


def test_fcd_of_overlapping_curves_is_the_distance_not_the_sum():
    curves = np.array([[0.0, 0.0], [-0.2, -0.1], [-0.4, -0.5]])  # differences 0, -0.1, 0.1
    d = fcd_matrix(curves)
    assert d[0, 1] == pytest.approx(np.sqrt(0.02)) and d[1, 0] == pytest.approx(np.sqrt(0.02))
    assert d[0, 0] == d[1, 1] == 0


def test_fcd_with_a_nan_curve_is_nan():
    d = fcd_matrix(np.array([[0.0, 0.0], [np.nan, -0.1]]))
    assert np.isnan(d[0, 1]) and np.isnan(d[0, 0]) and d[1, 1] == 0


def test_cooccurrence_iou_known_answers_both_ways():
    # images: {A,B}, {A,B}, {A}, {}  ->  K = [[3,2],[2,2]], column sums [5, 4]
    y = np.array([[1, 1], [1, 1], [1, 0], [0, 0]])
    co = cooccurrence(y)
    np.testing.assert_allclose(co.iou_paper, [[3 / 7, 2 / 7], [2 / 7, 2 / 6]])
    np.testing.assert_allclose(co.iou_standard, [[1.0, 2 / 3], [2 / 3, 1.0]])


def test_a_class_with_no_test_positive_has_no_log_frequency():
    y = np.array([[1, 0, 1], [1, 0, 0]])
    pairs = fcd_pairs(np.zeros((2, 3)), y, ["A", "B", "C"])
    assert np.isnan(pairs["log_freq_diff"].iloc[0]) and np.isnan(pairs["log_freq_diff_standard"].iloc[0])
    assert pairs["log_freq_diff_standard"].iloc[1] == pytest.approx(np.log(2))
    assert pairs["log_freq_diff"].iloc[1] == pytest.approx(np.log(3 / 2))  # column sums 3 and 2


def test_compute_forgettability_known_answer():
    # two seeds, sparsities 0 / 0.5 / 0.95, classes a, b
    ap = np.array([[[0.8, 0.5], [0.7, 0.3], [0.2, 0.45]], [[0.5, 0.4], [0.45, 0.2], [0.1, 0.4]]])
    auc = np.array([[[0.9, 0.8], [0.9, 0.4], [0.6, 0.8]], [[0.8, 0.6], [0.8, 0.3], [0.4, 0.6]]])
    fr = compute_forgettability(ap, auc, [0.0, 0.5, 0.95], ["a", "b"])
    # AP change per seed: a: 0.5 -> -0.125, -0.1; 0.95 -> -0.75, -0.8.  b: 0.5 -> -0.4, -0.5; 0.95 -> -0.1, 0.0
    np.testing.assert_allclose(fr.rel_ap, [[0, 0], [-0.1125, -0.45], [-0.775, -0.05]])
    np.testing.assert_allclose(fr.rel_auc, [[0, 0], [0, -0.5], [-5 / 12, 0]])
    assert fr.first_drop_20.tolist() == [0.95, 0.5]
    assert fr.delta_ap.values.tolist() == pytest.approx([-0.775, -0.05]) and fr.delta_ap.is_target
    assert fr.sparsities.tolist() == [0.0, 0.5, 0.95] and fr.class_names == ["a", "b"]
    t = fr.table()
    assert t["class"].tolist() == ["a", "b"] * 3
    assert t["sparsity"].tolist() == [0.0, 0.0, 0.5, 0.5, 0.95, 0.95]
    assert t["median_rel_change_auc"].tolist() == pytest.approx([0, 0, 0, -0.5, -5 / 12, 0])


@pytest.mark.parametrize("sparsities", [[0.0, 0.5, 0.5], [0.0, 0.9, 0.5], [], [[0.0, 0.5]]])
def test_forgettability_refuses_sparsities_that_are_not_strictly_ascending_from_zero(sparsities):
    ap = np.ones((1, 3, 2))
    with pytest.raises(ValueError, match="ascending and start at 0"):
        compute_forgettability(ap, ap, np.array(sparsities), ["a", "b"])


def test_zero_metrics_and_empty_classes_give_nan_without_numpy_warnings():
    y = np.array([[1, 0, 1], [1, 0, 0]])  # class 1 never occurs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rel = relative_change(np.array([[[0.0, 0.5], [0.3, 0.5], [0.0, 0.5]]]))  # 0.3 / 0 and 0 / 0
        co = cooccurrence(y)
        pairs = fcd_pairs(np.zeros((2, 3)), y, ["A", "B", "C"])
    assert np.isnan(rel[0, :, 0]).all() and rel[0, 2, 1] == 0.0
    assert np.isnan(co.iou_standard[1, 1]) and np.isnan(co.iou_paper[1, 1]) and co.iou_standard[0, 1] == 0.0
    assert co.matrix.dtype.kind == "i" and co.matrix.tolist() == [[2, 0, 1], [0, 0, 0], [1, 0, 1]]
    assert np.isnan(pairs["log_freq_diff"].iloc[0])


def test_a_dense_only_sweep_has_no_drop_and_reports_the_change_at_sparsity_zero():
    ap = np.array([[[0.8, 0.4]], [[0.6, 0.2]]])
    fr = compute_forgettability(ap, ap, np.array([0.0]), ["a", "b"])
    assert np.isnan(fr.first_drop_20).all()
    assert (fr.delta_ap.values.tolist(), fr.delta_ap.sparsity, fr.delta_ap.is_target) == ([0.0, 0.0], 0.0, False)
