import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from pruning.engine.pies import (
    ensemble_mean,
    n_pies_for,
    select_pies,
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
