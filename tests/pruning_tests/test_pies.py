import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from pruning.engine.pies import (
    NAN_POLICIES,
    ensemble_mean,
    n_pies_for,
    select_pies,
    select_pies_from_mean,
    select_pies_from_sets,
    select_pies_hooker,
    spearman_rows,
)
from pruning.engine.store import PredictionSet


def test_row_spearman_equals_scipy_spearmanr_row_by_row_including_ties():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, (200, 6)).astype(float)  # few values: many ties
    b = rng.integers(0, 4, (200, 6)).astype(float)
    ours = spearman_rows(a, b)
    for i in range(200):
        with np.errstate(invalid="ignore"):
            expected = spearmanr(a[i], b[i]).statistic
        if np.isnan(expected):
            assert np.isnan(ours[i])
        else:
            assert ours[i] == pytest.approx(expected, abs=1e-12)


def test_a_constant_row_has_a_nan_correlation():
    assert np.isnan(spearman_rows(np.array([[0.5, 0.5, 0.5]]), np.array([[0.1, 0.2, 0.3]]))).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_row_holding_nan_has_a_nan_correlation_and_leaves_the_other_rows_alone(dtype):
    """As scipy's spearmanr (nan_policy 'propagate'): NaN in a row gives NaN for that row only."""
    a = np.array([[0.1, np.nan, 0.3], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1]], dtype=dtype)
    b = np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])
    r = spearman_rows(a, b)
    assert np.isnan(r[0])
    assert r[1:].tolist() == [1.0, -1.0]


def test_no_rows_give_no_correlations():
    assert spearman_rows(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0,)


def test_mathematically_equal_correlations_are_bitwise_equal():
    # Row 1 has tied ranks, row 0 none; both correlations are exactly 0.5.
    a = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 2.0]])
    b = np.array([[2.0, 1.0, 3.0], [1.0, 2.0, 2.0]])
    r = spearman_rows(a, b)
    assert r[0] == r[1] == 0.5


@pytest.mark.parametrize(("n", "q"), [(100, 0.05), (99, 0.05), (20, 0.05), (19, 0.05), (100, 0.29), (7, 0.0)])
def test_pie_count_is_floor_of_q_times_n(n, q):
    rng = np.random.default_rng(n)
    sel = select_pies(rng.random((n, 5)), rng.random((n, 5)), q=q)
    assert sel.summary["n_pies"] == int(sel.table["is_pie"].sum()) == n_pies_for(q, n) == math.floor(round(q * n, 9))


def test_pies_are_the_images_with_the_lowest_correlation_known_answer():
    dense = np.array([[1, 2, 3, 4]] * 5, dtype=float)
    pruned = np.array(
        [
            [1, 2, 3, 4],  # rho = 1
            [4, 3, 2, 1],  # rho = -1
            [2, 1, 3, 4],  # rho = 0.8
            [1, 3, 2, 4],  # rho = 0.8
            [3, 4, 1, 2],  # rho = -0.6
        ],
        dtype=float,
    )
    sel = select_pies(dense, pruned, q=0.4, image_ids=list("abcde"))
    t = sel.table
    assert t["correlation"].tolist() == pytest.approx([1, -1, 0.8, 0.8, -0.6])
    assert t["rank"].tolist() == [5, 1, 3, 4, 2]
    assert sel.pie_ids == ["b", "e"]
    assert list(t.columns) == ["image_index", "image_id", "correlation", "rank", "is_pie"]


def test_ties_at_the_cutoff_break_by_image_index_and_the_tie_group_is_reported():
    dense = np.tile(np.arange(5, dtype=float), (10, 1))
    pruned = dense.copy()
    pruned[[2, 5, 7, 8]] = [1, 0, 2, 3, 4]  # four images tied at rho = 0.9, six at rho = 1
    sel = select_pies(dense, pruned, q=0.2)  # floor(0.2 * 10) = 2 PIEs out of the tie group of 4
    assert sel.pie_indices.tolist() == [2, 5]
    assert sel.summary["cutoff_correlation"] == pytest.approx(0.9)
    assert sel.summary["tie_group_size"] == 4
    assert sel.summary["tie_group_in_pies"] == 2


def test_nan_rows_are_never_pies_by_default_and_are_reported():
    dense = np.tile(np.arange(4, dtype=float), (6, 1))
    pruned = np.array([[3, 2, 1, 0]] * 6, dtype=float)  # every valid rho = -1
    pruned[[0, 4]] = 0.3  # constant rows -> NaN
    sel = select_pies(dense, pruned, q=0.5)
    t = sel.table
    assert sel.summary["n_nan"] == 2
    assert sel.pie_indices.tolist() == [1, 2, 3]
    assert t.loc[[0, 4], "rank"].isna().all() and not t.loc[[0, 4], "is_pie"].any()


def test_exclude_policy_returns_fewer_pies_when_too_few_rows_have_a_correlation():
    dense = np.tile(np.arange(4, dtype=float), (4, 1))
    pruned = np.full((4, 4), 0.5)
    pruned[0] = [0, 1, 3, 2]
    sel = select_pies(dense, pruned, q=0.5)
    assert sel.summary["n_pies_target"] == 2 and sel.summary["n_pies"] == 1
    assert sel.pie_indices.tolist() == [0]


def test_lowest_policy_ranks_nan_rows_as_most_disagreeing():
    dense = np.tile(np.arange(4, dtype=float), (6, 1))
    pruned = np.array([[3, 2, 1, 0]] * 6, dtype=float)
    pruned[[1, 4]] = 0.3
    sel = select_pies(dense, pruned, q=0.5, nan_policy="lowest")
    assert sel.pie_indices.tolist() == [0, 1, 4]
    assert sel.table.loc[[1, 4], "rank"].tolist() == [1, 2]
    assert sel.summary["n_nan"] == 2 and sel.summary["tie_group_in_pies"] == 1


def test_first_sparsity_below_is_the_first_sparsity_at_or_below_the_cutoff():
    dense = np.tile(np.arange(4, dtype=float), (3, 1))
    same, swap1, reverse = [0, 1, 2, 3], [1, 0, 2, 3], [3, 2, 1, 0]  # rho 1, 0.8, -1
    sweep = np.array(
        [
            [same, same, same],  # sparsity 0
            [same, swap1, same],  # 0.5
            [reverse, swap1, swap1],  # 0.9
        ],
        dtype=float,
    )
    sel = select_pies(dense, sweep[2], q=0.34, sweep_probs=sweep, sweep_sparsities=[0.0, 0.5, 0.9])
    assert sel.pie_indices.tolist() == [0]  # cutoff rho = -1
    assert sel.table["first_sparsity_below"].tolist()[0] == 0.9
    assert np.isnan(sel.table["first_sparsity_below"].tolist()[1:]).all()
    sel = select_pies(dense, sweep[2], q=0.67, sweep_probs=sweep, sweep_sparsities=[0.0, 0.5, 0.9])
    assert sel.table["first_sparsity_below"].tolist() == [0.9, 0.5, 0.9]  # cutoff rho = 0.8


def test_ensemble_mean_averages_over_seeds_in_float64():
    probs = np.array([[0.2, 0.4], [0.4, 0.8]], dtype=np.float32)
    out = ensemble_mean(probs)
    assert out.dtype == np.float64 and out == pytest.approx([0.3, 0.6])


def test_selection_from_prediction_sets_averages_seeds_before_correlating():
    rng = np.random.default_rng(1)
    sets = [
        PredictionSet(
            rng.random((3, 40, 6), dtype=np.float32), [0.0, 0.5, 0.9], [f"i{k}" for k in range(40)], list("abcdef")
        )
        for _ in range(3)
    ]
    sel = select_pies_from_sets(sets, sparsity=0.9, q=0.1)
    mean = np.mean([s.probs for s in sets], axis=0, dtype=np.float64)
    manual = select_pies(mean[0], mean[2], q=0.1, image_ids=sets[0].image_ids)
    assert sel.pie_ids == manual.pie_ids and len(sel.pie_ids) == 4
    assert sel.summary["n_seeds"] == 3 and sel.table.attrs["sparsity"] == 0.9
    assert "first_sparsity_below" in sel.table


def test_selection_from_sets_needs_the_dense_and_the_requested_sparsity():
    ps = PredictionSet(np.zeros((2, 3, 2)), [0.0, 0.5], ["a", "b", "c"], ["x", "y"])
    with pytest.raises(ValueError, match="sparsity 0.9 not among"):
        select_pies_from_sets([ps], sparsity=0.9)


def test_hooker_pies_are_images_whose_modal_label_set_changes():
    # 3 dense and 3 pruned seeds, 3 images, 2 classes.
    dense = np.array(
        [
            [[0.9, 0.1], [0.9, 0.1], [0.6, 0.6]],
            [[0.8, 0.2], [0.7, 0.2], [0.4, 0.6]],
            [[0.2, 0.3], [0.6, 0.4], [0.6, 0.4]],
        ]
    )  # modal: img0 {c0}, img1 {c0}, img2 {c0, c1}
    pruned = np.array(
        [
            [[0.9, 0.1], [0.2, 0.1], [0.6, 0.6]],
            [[0.8, 0.2], [0.3, 0.7], [0.6, 0.6]],
            [[0.3, 0.9], [0.6, 0.8], [0.1, 0.1]],
        ]
    )  # modal: img0 {c0}, img1 {c1}, img2 {c0, c1}
    sel = select_pies_hooker(dense, pruned, threshold=0.5)
    assert sel.table["n_classes_differ"].tolist() == [0, 2, 0]
    assert sel.pie_indices.tolist() == [1]
    assert sel.summary["n_pies"] == 1


def test_hooker_counts_an_even_split_of_votes_as_absent():
    dense = np.array([[[0.9]], [[0.1]]])  # 1 of 2 seeds positive: not a strict majority
    pruned = np.array([[[0.1]], [[0.1]]])
    assert select_pies_hooker(dense, pruned).pie_indices.tolist() == []


def test_pie_table_carries_its_summary_in_attrs():
    rng = np.random.default_rng(3)
    sel = select_pies(rng.random((50, 4)), rng.random((50, 4)))
    assert isinstance(sel.table, pd.DataFrame)
    assert sel.table.attrs["n_pies"] == 2 and sel.table.attrs["tie_break"] == "image index ascending"


# --- Known answers for the PIE definition's edges ---------------------------------------------------------

SAME5, SWAP5, REV5 = [0, 1, 2, 3, 4], [1, 0, 2, 3, 4], [4, 3, 2, 1, 0]  # rho vs SAME5: 1, 0.9, -1


def tie_above_the_lowest():
    """8 images: image 3 at rho -1, images 1, 4, 6 tied at 0.9, image 7 constant (NaN), the rest at 1."""
    dense = np.tile(np.arange(5, dtype=float), (8, 1))
    pruned = np.array([SAME5, SWAP5, SAME5, REV5, SWAP5, SAME5, SWAP5, [2] * 5], dtype=float)
    return dense, pruned


def test_the_nan_policies_and_their_order_are_fixed():
    assert NAN_POLICIES == ("exclude", "lowest")


def test_tie_group_above_the_lowest_correlation_reports_only_its_own_members():
    dense, pruned = tie_above_the_lowest()
    sel = select_pies(dense, pruned, q=0.25, image_ids=[f"im{k}" for k in range(8)])  # floor(0.25 * 8) = 2
    assert sel.pie_indices.tolist() == [1, 3]  # image order, not rank order
    assert sel.summary == {
        "definition": "spearman",
        "q": 0.25,
        "n_images": 8,
        "n_pies": 2,
        "n_pies_target": 2,
        "n_nan": 1,
        "nan_policy": "exclude",
        "cutoff_correlation": pytest.approx(0.9),
        "tie_group_size": 3,  # images 1, 4, 6
        "tie_group_in_pies": 1,  # image 1; image 3 is below the cutoff, image 7 (NaN) is not ranked
        "tie_break": "image index ascending",
    }
    assert sel.table["rank"].tolist()[:7] == [5, 2, 6, 1, 3, 7, 4] and pd.isna(sel.table["rank"][7])


def test_pie_ids_follow_image_order():
    dense, pruned = tie_above_the_lowest()
    sel = select_pies(dense, pruned, q=0.25, image_ids=[f"im{k}" for k in range(8)])
    assert sel.pie_ids == ["im1", "im3"]


def test_no_pies_means_no_cutoff_and_no_tie_group():
    dense, pruned = tie_above_the_lowest()
    sel = select_pies(dense, pruned, q=0.0)
    assert math.isnan(sel.summary["cutoff_correlation"])
    assert (sel.summary["n_pies"], sel.summary["tie_group_size"], sel.summary["tie_group_in_pies"]) == (0, 0, 0)
    assert math.isnan(select_pies(dense[:7], pruned[:7], q=0.1).summary["cutoff_correlation"])  # no NaN row either


def lowest_case():
    """6 images x 4 classes: dense row 4 is constant (NaN at every sparsity); pruned row 1 is constant at 0.9."""
    dense = np.tile(np.arange(4, dtype=float), (6, 1))
    dense[4] = 0.5
    pruned = np.tile(np.array([3, 2, 1, 0], dtype=float), (6, 1))  # rho -1 where defined
    pruned[1] = 0.3
    sweep = np.stack([dense, dense, pruned])  # sparsities 0, 0.5, 0.9
    return dense, pruned, sweep


def test_lowest_policy_with_the_cutoff_inside_the_nan_group():
    dense, pruned, sweep = lowest_case()
    sel = select_pies(dense, pruned, q=1 / 6, nan_policy="lowest", sweep_probs=sweep, sweep_sparsities=[0, 0.5, 0.9])
    assert sel.pie_indices.tolist() == [1]
    assert math.isnan(sel.summary["cutoff_correlation"])
    assert (sel.summary["n_nan"], sel.summary["tie_group_size"], sel.summary["tie_group_in_pies"]) == (2, 2, 1)
    assert sel.table["rank"].tolist() == [3, 1, 4, 5, 2, 6]  # every row ranked, NaN rows first
    # NaN counts as "at or below" the cutoff: row 4 from the first sparsity > 0, row 1 from 0.9.
    np.testing.assert_array_equal(sel.table["first_sparsity_below"], [np.nan, 0.9, np.nan, np.nan, 0.5, np.nan])


def test_lowest_policy_with_a_finite_cutoff_marks_nan_and_low_rows():
    dense, pruned, sweep = lowest_case()
    sel = select_pies(dense, pruned, q=0.5, nan_policy="lowest", sweep_probs=sweep, sweep_sparsities=[0, 0.5, 0.9])
    assert sel.pie_indices.tolist() == [0, 1, 4] and sel.summary["cutoff_correlation"] == -1.0
    assert (sel.summary["tie_group_size"], sel.summary["tie_group_in_pies"]) == (4, 1)  # rows 0, 2, 3, 5 at -1
    assert sel.table["first_sparsity_below"].tolist() == [0.9, 0.9, 0.9, 0.9, 0.5, 0.9]


def test_exclude_policy_never_marks_nan_rows_in_the_sweep():
    dense, pruned, sweep = lowest_case()
    sel = select_pies(dense, pruned, q=0.5, sweep_probs=sweep, sweep_sparsities=[0, 0.5, 0.9])
    assert sel.pie_indices.tolist() == [0, 2, 3]
    np.testing.assert_array_equal(sel.table["first_sparsity_below"], [0.9, np.nan, 0.9, 0.9, np.nan, 0.9])


def test_no_pies_means_no_first_sparsity_below_even_under_the_lowest_policy():
    dense, pruned, sweep = lowest_case()
    sel = select_pies(dense, pruned, q=0.0, nan_policy="lowest", sweep_probs=sweep, sweep_sparsities=[0, 0.5, 0.9])
    assert np.isnan(sel.table["first_sparsity_below"]).all()


def test_sweep_inputs_are_checked_with_messages_that_name_the_shapes():
    dense, pruned, sweep = lowest_case()
    with pytest.raises(ValueError, match=r"^sweep_probs needs sweep_sparsities$"):
        select_pies(dense, pruned, sweep_probs=sweep)
    expected = r"^sweep_probs shape \(3, 6, 4\) does not fit 2 sparsities x 6 images x 4 classes$"
    with pytest.raises(ValueError, match=expected):
        select_pies(dense, pruned, sweep_probs=sweep, sweep_sparsities=[0, 0.9])
    with pytest.raises(ValueError, match=r"does not fit 3 sparsities"):
        select_pies(dense, pruned, sweep_probs=sweep[:, :5], sweep_sparsities=[0, 0.5, 0.9])
    with pytest.raises(ValueError, match=r"does not fit 3 sparsities"):
        select_pies(dense, pruned, sweep_probs=sweep[:, :, :3], sweep_sparsities=[0, 0.5, 0.9])
    with pytest.raises(ValueError, match=r"does not fit 6 sparsities"):
        select_pies(dense, pruned, sweep_probs=sweep.reshape(6, 3, 4), sweep_sparsities=[0] * 6)


def test_select_pies_refuses_bad_arguments_with_their_values():
    dense, pruned = tie_above_the_lowest()
    with pytest.raises(ValueError, match=r"^nan_policy 'drop' not in \('exclude', 'lowest'\)$"):
        select_pies(dense, pruned, nan_policy="drop")
    with pytest.raises(ValueError, match=r"^dense_probs must be \[N, C\], got shape \(40,\)$"):
        select_pies(dense.ravel(), pruned.ravel())
    with pytest.raises(ValueError, match=r"^3 image ids for 8 images$"):
        select_pies(dense, pruned, image_ids=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"^pruned_probs shape \(8, 4\) != dense_probs shape \(8, 5\)$"):
        select_pies(dense, pruned[:, :4])


@pytest.mark.parametrize(("q", "n", "expected"), [(1.0, 7, 7), (0.0, 7, 0), (0.5, 7, 3), (0.29, 100, 29)])
def test_n_pies_for_known_answers_including_q_of_one(q, n, expected):
    assert n_pies_for(q, n) == expected


@pytest.mark.parametrize("q", [-0.01, 1.01, 1.5])
def test_q_outside_zero_to_one_is_refused(q):
    with pytest.raises(ValueError, match=rf"^PIE fraction q={q} is outside \[0, 1\]$"):
        n_pies_for(q, 10)


def test_row_spearman_works_on_any_leading_shape():
    a = np.array([[[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [4.0, 1.0, 1.0, 0.0]]] * 2)  # [2, 3, 4]
    b = np.array([[[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0]]] * 2)
    # third row: a ranks [4, 2.5, 2.5, 1] -> centred doubled [3, 0, 0, -3]; b -> [-3, -1, 1, 3]: -18 / sqrt(18 * 20)
    expected = [1.0, -1.0, -18 / math.sqrt(18 * 20)]
    np.testing.assert_allclose(spearman_rows(a, b), [expected, expected])


def test_constant_rows_give_nan_without_numpy_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = spearman_rows(np.array([[0.5, 0.5, 0.5], [0.1, 0.2, 0.3]]), np.array([[0.1, 0.2, 0.3], [0.2, 0.2, 0.2]]))
    assert np.isnan(r).all()


def test_spearman_rows_refuses_different_shapes():
    with pytest.raises(ValueError, match=r"^score arrays differ in shape: \(2, 3\) vs \(3, 2\)$"):
        spearman_rows(np.zeros((2, 3)), np.zeros((3, 2)))


def test_ensemble_mean_needs_a_seed_axis_with_at_least_one_seed():
    with pytest.raises(ValueError, match=r"^expected \[seeds, \.\.\.\] with at least one seed, got shape \(3,\)$"):
        ensemble_mean(np.ones(3))
    with pytest.raises(ValueError, match=r"got shape \(0, 5, 2\)"):
        ensemble_mean(np.zeros((0, 5, 2)))
    assert ensemble_mean(np.zeros((2, 0, 3))).shape == (0, 3)  # no images is fine


def test_selection_from_sets_finds_the_dense_row_wherever_it_is_stored_and_defaults_to_q5_at_90():
    # 20 images, stored sparsities [0.5, 0, 0.9]. Against the dense row, image 7 is reversed at 0.9 and
    # image 2 at 0.5; default q = 0.05 gives one PIE: image 7 (image 2 is fine at 0.9).
    same, rev = [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]
    probs = np.tile(np.array(same, dtype=np.float32), (3, 20, 1))
    probs[0, 2] = rev
    probs[2, 7] = rev
    ids = [f"i{k}" for k in range(20)]
    sets = [PredictionSet(probs, [0.5, 0.0, 0.9], ids, list("abcd")) for _ in range(2)]
    sel = select_pies_from_sets(sets)
    assert sel.pie_ids == ["i7"]
    assert (sel.summary["q"], sel.summary["sparsity"], sel.summary["n_seeds"]) == (0.05, 0.9, 2)
    first = sel.table["first_sparsity_below"]
    assert first[2] == 0.5 and first[7] == 0.9 and first.drop([2, 7]).isna().all()


def test_selection_from_sets_without_dense_predictions_is_refused():
    ps = PredictionSet(np.zeros((2, 3, 2)), [0.5, 0.9], ["a", "b", "c"], ["x", "y"])
    with pytest.raises(ValueError, match=r"^no dense \(sparsity 0\) predictions among \[0\.5, 0\.9\]$"):
        select_pies_from_sets([ps])


def test_hooker_threshold_is_strict_and_defaults_to_one_half():
    dense = np.array([[[0.5]]])  # exactly at the threshold: absent
    pruned = np.array([[[0.51]]])
    assert select_pies_hooker(dense, pruned).pie_indices.tolist() == [0]
    assert select_pies_hooker(dense, pruned, threshold=0.4).pie_indices.tolist() == []


def test_hooker_pie_when_exactly_one_class_changes_with_unequal_seed_counts():
    dense = np.array([[[0.9, 0.1]] * 4] * 3)  # 3 seeds, 4 images, 2 classes: {c0} for every image
    pruned = np.array([[[0.9, 0.1]] * 4] * 2)  # 2 seeds
    pruned[1, 1, 1] = 0.9  # image 1, c1: 1 of 2 votes is no majority: still absent
    sel = select_pies_hooker(dense, pruned, image_ids=["w", "x", "y", "z"])
    assert sel.table["n_classes_differ"].tolist() == [0, 0, 0, 0]
    pruned[:, 2, 0] = 0.2  # image 2 loses c0 in both pruned seeds: one class differs
    sel = select_pies_hooker(dense, pruned, image_ids=["w", "x", "y", "z"])
    assert list(sel.table.columns) == ["image_index", "image_id", "n_classes_differ", "is_pie"]
    assert sel.table["n_classes_differ"].tolist() == [0, 0, 1, 0]
    assert sel.pie_ids == ["y"]
    assert sel.summary == {
        "definition": "hooker",
        "threshold": 0.5,
        "n_images": 4,
        "n_pies": 1,
        "n_seeds_dense": 3,
        "n_seeds_pruned": 2,
    }
    assert sel.table.attrs == sel.summary


@pytest.mark.parametrize(
    ("dense_shape", "pruned_shape"), [((2, 3), (2, 3, 1)), ((2, 3, 1), (2, 3)), ((2, 3, 1), (2, 4, 1))]
)
def test_hooker_refuses_arrays_that_are_not_seeds_by_images_by_classes(dense_shape, pruned_shape):
    with pytest.raises(ValueError, match=r"^expected \[seeds, N, C\] arrays with equal N, C; got "):
        select_pies_hooker(np.zeros(dense_shape), np.zeros(pruned_shape))


def test_hooker_refuses_the_wrong_number_of_image_ids():
    with pytest.raises(ValueError, match=r"^1 image ids for 2 images$"):
        select_pies_hooker(np.zeros((1, 2, 1)), np.zeros((1, 2, 1)), image_ids=["a"])


def test_selection_from_a_seed_mean_defaults_to_q5_at_90_with_index_ids():
    same, rev = [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]
    mean = np.tile(np.array(same), (3, 20, 1))
    mean[2, 11] = rev  # sparsity 0.9: image 11 reversed; sparsity 0.5 (row 1) untouched
    sel = select_pies_from_mean(mean, [0.0, 0.5, 0.9], n_seeds=4)
    assert sel.pie_ids == ["11"]
    assert (sel.summary["q"], sel.summary["sparsity"], sel.summary["n_seeds"]) == (0.05, 0.9, 4)
    assert sel.table.attrs["n_seeds"] == 4


def test_selection_from_sets_passes_the_nan_policy_on():
    probs = np.tile(np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32), (2, 20, 1))
    probs[1, 5] = 0.25  # constant at 0.9: no correlation
    sets = [PredictionSet(probs, [0.0, 0.9], [f"i{k}" for k in range(20)], list("abcd"))]
    assert select_pies_from_sets(sets).pie_ids == ["i0"]  # all 19 others tie at rho 1: lowest index
    lowest = select_pies_from_sets(sets, nan_policy="lowest")
    assert lowest.pie_ids == ["i5"] and lowest.summary["nan_policy"] == "lowest"
