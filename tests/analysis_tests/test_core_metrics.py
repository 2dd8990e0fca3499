"""Known answers and scikit-learn agreement for the vectorised per-class metrics."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from analysis.core.metrics import MetricsInputError, class_metrics, metrics_table, overall_table


def sklearn_grid(probs, labels):
    """The slow reference: one scikit-learn call per prediction set, class and metric."""
    lead = probs.shape[:-2]
    auc, ap, f1 = (np.full((*lead, labels.shape[1]), np.nan) for _ in range(3))
    for idx in np.ndindex(*lead):
        for c in range(labels.shape[1]):
            y, p = labels[:, c], probs[idx][:, c]
            if y.sum() == 0:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                auc[idx][c] = roc_auc_score(y, p) if y.sum() < y.size else np.nan
                ap[idx][c] = average_precision_score(y, p)
            f1[idx][c] = f1_score(y, p > 0.5, zero_division=0)
    return auc, ap, f1


def assert_matches_sklearn(probs, labels):
    got = class_metrics(probs, labels)
    for mine, ref in zip((got.auc, got.ap, got.f1), sklearn_grid(probs, labels), strict=True):
        assert np.array_equal(np.isnan(mine), np.isnan(ref))
        assert np.nanmax(np.abs(mine - ref)) < 1e-12


@pytest.fixture
def labels():
    rng = np.random.default_rng(3)
    return (rng.random((400, 5)) < [0.5, 0.2, 0.05, 0.01, 0.9]).astype(np.uint8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_auroc_ap_f1_match_sklearn_on_random_scores(labels, dtype):
    probs = np.random.default_rng(0).random((3, 4, *labels.shape)).astype(dtype)
    assert_matches_sklearn(probs, labels)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_metrics_match_sklearn_with_heavy_ties(labels, dtype):
    rng = np.random.default_rng(1)
    probs = rng.random((5, *labels.shape))
    probs[0] = 1.0  # fully saturated: one tie group per class
    probs[1] = np.round(probs[1], 1)  # eleven distinct values
    probs[2] = (probs[2] > 0.5) * 1.0  # two values
    probs[3] = 0.5  # exactly at the F1 threshold
    probs[4, :200] = 0.0  # half tied at zero, half distinct
    assert_matches_sklearn(probs.astype(dtype), labels)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_metrics_match_sklearn_on_negative_scores_and_signed_zeros(labels, dtype):
    rng = np.random.default_rng(2)
    probs = rng.normal(size=(2, *labels.shape))
    probs[1] = np.round(probs[1])
    probs[1, ::2] = -0.0  # -0.0 and +0.0 must tie, as in sklearn
    probs[1, 1::4] = 0.0
    assert_matches_sklearn(probs.astype(dtype), labels)


def test_hand_example_gives_known_auroc_ap_and_f1():
    y = np.array([[0], [0], [1], [1]])
    p = np.array([[0.1], [0.4], [0.35], [0.8]])
    m = class_metrics(p, y)
    assert m.auc[0] == pytest.approx(0.75)  # 3 of 4 (pos, neg) pairs ordered correctly
    assert m.ap[0] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert m.f1[0] == pytest.approx(2 * 1 / (1 + 2))  # one predicted positive, a true one


def test_tied_positive_and_negative_count_one_half():
    m = class_metrics(np.array([[0.3], [0.3], [0.9]]), np.array([[0], [1], [1]]))
    assert m.auc[0] == pytest.approx((1 + 0.5) / 2)
    assert m.ap[0] == pytest.approx(0.5 * 1 + 0.5 * (2 / 3))


def test_score_of_exactly_one_half_counts_as_negative_for_f1():
    m = class_metrics(np.array([[0.5], [0.5000001], [0.1]]), np.array([[1], [1], [0]]))
    assert m.f1[0] == pytest.approx(2 * 1 / (1 + 2))


def test_class_without_positives_is_nan_and_skipped_by_means():
    y = np.array([[1, 0], [0, 0], [1, 0], [0, 0]])
    probs = np.random.default_rng(0).random((1, 2, 4, 2))
    m = class_metrics(probs, y)
    assert np.isnan(m.auc[..., 1]).all() and np.isnan(m.ap[..., 1]).all() and np.isnan(m.f1[..., 1]).all()
    table = metrics_table(probs, y, seeds=[7], sparsities=np.array([0.0, 0.5]), class_names=["A", "B"])
    overall = overall_table(table)
    assert overall["map"].tolist() == pytest.approx(m.ap[0, :, 0].tolist())


def test_class_without_negatives_has_nan_auroc_and_ap_of_one():
    m = class_metrics(np.array([[0.2], [0.7]]), np.array([[1], [1]]))
    assert np.isnan(m.auc[0]) and m.ap[0] == 1.0


def test_metrics_table_is_tidy_in_seed_sparsity_class_order(labels):
    probs = np.random.default_rng(0).random((2, 3, *labels.shape)).astype(np.float32)
    names = [f"c{i}" for i in range(5)]
    t = metrics_table(probs, labels, seeds=[10, 11], sparsities=np.array([0, 0.5, 0.9]), class_names=names)
    assert list(t.columns) == ["seed", "sparsity", "class", "auc", "ap", "f1"]
    assert len(t) == 2 * 3 * 5
    row = t.iloc[5 * 3 + 5 * 2 + 4]  # seed 11, sparsity 0.9, class c4
    assert (row["seed"], row["sparsity"], row["class"]) == (11, 0.9, "c4")
    assert row["ap"] == class_metrics(probs, labels).ap[1, 2, 4]


def test_nan_score_is_rejected_with_its_position(labels):
    probs = np.random.default_rng(0).random((2, *labels.shape))
    probs[1, 17, 3] = np.nan
    with pytest.raises(MetricsInputError, match=r"probs\[1, 17, 3\] is NaN"):
        class_metrics(probs, labels)


def test_shape_mismatch_names_both_shapes(labels):
    with pytest.raises(MetricsInputError, match=r"probs shape \(2, 399, 5\).*labels shape \(400, 5\)"):
        class_metrics(np.zeros((2, 399, 5)), labels)


def test_non_binary_labels_are_rejected_with_the_cell():
    with pytest.raises(MetricsInputError, match=r"labels\[1, 0\] = 2"):
        class_metrics(np.zeros((2, 1)), np.array([[0], [2]]))
