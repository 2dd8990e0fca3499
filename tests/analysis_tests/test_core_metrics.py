"""Known answers and scikit-learn agreement for the vectorised per-class metrics."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from analysis.core import metrics
from analysis.core.metrics import MetricsInputError, check_labels, class_metrics, metrics_table, overall_table


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_metrics_match_sklearn_when_tie_groups_meet_at_row_boundaries(dtype, chunk, monkeypatch):
    # Three score values: a class's highest group and the next class's lowest hold the same
    # score, so a tie search that crossed rows would merge them; runs of tied positives, tied
    # negatives before them, a positive first in its row, and chunks cutting sets in any place.
    monkeypatch.setattr(metrics, "_CHUNK_ELEMENTS", chunk)
    rng = np.random.default_rng(4)
    y = (rng.random((9, 6)) < [0.5, 0.3, 0.7, 0.2, 0.9, 0.4]).astype(np.uint8)
    y[0] = 1  # every class has a positive and a negative
    y[1] = 0
    probs = rng.choice([0.0, 0.5, 1.0], size=(3, 4, *y.shape))
    probs[0, 0] = 0.5  # all tied
    probs[0, 1, :, 0] = 0.0  # a positive first in its row
    assert_matches_sklearn(probs.astype(dtype), y)


@pytest.mark.parametrize("threshold", [0.3, 0.25, 1, np.float64(0.3), np.float32(0.3), -0.5, float("inf")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_f1_counts_a_score_positive_exactly_when_numpy_says_it_exceeds_the_threshold(threshold, dtype):
    # 0.3 is not a float32: a Python float is compared in the scores' dtype, a numpy float64 in float64.
    rng = np.random.default_rng(5)
    y = (rng.random((200, 3)) < 0.4).astype(np.uint8)
    probs = rng.choice(np.array([0.0, 0.25, 0.3, 0.5, 1.0, 2.0], dtype=dtype), size=(2, *y.shape))
    probs[1, :, 1] = np.nextafter(dtype(0.3), dtype(1))
    got = class_metrics(probs, y, threshold=threshold).f1
    pred = probs > threshold
    tp = (pred & y.astype(bool)).sum(axis=1)
    want = 2 * tp / (pred.sum(axis=1) + y.sum(axis=0))
    assert np.array_equal(got, want)


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


# --- Hand-checked known answers (each pins a rule a plausible slip would break) -------------------------

# Four classes over five images, each worked out by hand in the test below: c0 has a tie group in the
# middle of its ranking, c1 no positive, c2 no negative, c3 exactly one positive.
KNOWN_Y = np.array(
    [
        [0, 0, 1, 0],
        [1, 0, 1, 0],
        [0, 0, 1, 1],
        [1, 0, 1, 0],
        [0, 0, 1, 0],
    ]
)
KNOWN_P = np.array(
    [
        [0.1, 0.2, 0.6, 0.2],
        [0.3, 0.7, 0.4, 0.4],
        [0.3, 0.1, 0.7, 0.3],
        [0.9, 0.4, 0.1, 0.9],
        [0.6, 0.3, 0.8, 0.1],
    ]
)


def test_tie_group_above_the_lowest_score_counts_one_half_for_auroc_and_one_threshold_for_ap():
    # p = [.1, .3, .3, .9], y = [0, 1, 0, 1]: pairs (.3+, .1-) 1, (.3+, .3-) 1/2, (.9+, both) 2 -> 3.5 / 4.
    # AP: threshold .9 -> P 1, R 1/2; threshold .3 (one tie group) -> P 2/3, R 1. F1: only .9 is > .5.
    m = class_metrics(np.array([[0.1], [0.3], [0.3], [0.9]]), np.array([[0], [1], [0], [1]]))
    assert m.auc[0] == pytest.approx(0.875)
    assert m.ap[0] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert m.f1[0] == pytest.approx(2 / 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_known_answers_per_class_including_one_positive_none_and_all(dtype):
    m = class_metrics(KNOWN_P.astype(dtype), KNOWN_Y)
    # c0: positives .3, .9 vs negatives .1, .3, .6: (1 + 1/2 + 0) + 3 = 4.5 of 6 pairs. AP: .9 -> P 1 at R 1/2;
    #     .6 adds no positive; the .3 group -> 2 of 4 predicted, R 1. F1 (> .5): {.9, .6}, one true: 2 / (2 + 2).
    # c1: no positive: NaN everywhere.  c2: no negative: AUROC NaN, AP 1, F1: 3 of 5 predicted -> 6 / 8.
    # c3: one positive (.3) above two of four negatives (.2, .1): AUROC 2/4; third from the top: AP 1/3;
    #     F1: only .9 predicted, a negative -> 0.
    assert m.auc[0] == pytest.approx(0.75)
    assert np.isnan(m.auc[1]) and np.isnan(m.auc[2])
    assert m.auc[3] == pytest.approx(0.5)
    assert m.ap[0] == pytest.approx(0.5 + 0.5 * 2 / 4)
    assert np.isnan(m.ap[1]) and m.ap[2] == 1.0
    assert m.ap[3] == pytest.approx(1 / 3)
    assert m.f1[0] == pytest.approx(0.5)
    assert np.isnan(m.f1[1]) and m.f1[2] == pytest.approx(6 / 8) and m.f1[3] == 0.0


def test_a_class_with_exactly_one_positive_has_real_metrics():
    m = class_metrics(np.array([[0.2], [0.4], [0.3], [0.1]]), np.array([[0], [0], [1], [0]]))
    assert (m.auc[0], m.ap[0], m.f1[0]) == (pytest.approx(2 / 3), pytest.approx(0.5), 0.0)


def test_a_class_with_exactly_one_negative_has_real_auroc():
    m = class_metrics(np.array([[0.2], [0.4], [0.3]]), np.array([[1], [0], [1]]))
    assert m.auc[0] == pytest.approx(0.0) and m.ap[0] == pytest.approx(0.5 * 1 / 2 + 0.5 * 2 / 3)


def test_ties_only_in_the_first_class_leave_the_other_classes_alone():
    p = np.array([[0.3, 0.1], [0.3, 0.4], [0.9, 0.35], [0.1, 0.8]])
    y = np.array([[0, 0], [1, 0], [1, 1], [0, 1]])
    m = class_metrics(p, y)
    assert m.auc.tolist() == pytest.approx([(1 + 0.5 + 2) / 4, 0.75])
    assert m.ap.tolist() == pytest.approx([0.5 + 0.5 * 2 / 3, 0.5 * 1 + 0.5 * 2 / 3])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scores_of_two_and_above_keep_their_order(dtype):
    # Logit-like scores: exponents past 2.0 use the float's top exponent bit.
    p = np.array([[0.5], [3.0], [1.5], [2.5], [100.0]], dtype=dtype)
    y = np.array([[0], [1], [1], [0], [1]])
    m = class_metrics(p, y)
    # positives 3.0, 1.5, 100 vs negatives 0.5, 2.5: wins 2 + 1 + 2 = 5 of 6
    assert m.auc[0] == pytest.approx(5 / 6)
    assert m.ap[0] == pytest.approx((1 / 1 + 2 / 2 + 3 / 4) / 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scores_one_ulp_apart_do_not_tie(dtype):
    lo = dtype(0.5)
    hi = np.nextafter(lo, dtype(1))
    m = class_metrics(np.array([[lo], [hi]], dtype=dtype), np.array([[1], [0]]))
    assert m.auc[0] == 0.0  # the negative is above the positive, however slightly


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tiny_distinct_scores_next_to_negative_scores_do_not_tie(dtype):
    tiny = dtype(1e-20)
    p = np.array([[-1.0], [tiny], [2 * tiny]], dtype=dtype)
    m = class_metrics(p, np.array([[0], [1], [0]]))
    assert m.auc[0] == pytest.approx(0.5)  # beats -1, loses to 2e-20


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.int64, np.uint8, bool])
def test_non_float32_or_float64_scores_give_the_same_answers(dtype):
    p = np.array([[0], [1], [1], [0], [1]], dtype=dtype)
    y = np.array([[0], [1], [0], [0], [1]])
    m = class_metrics(p, y)
    # two positives at 1, negatives at 0, 1, 0: wins 2 + 2, ties 2 * 1/2 -> 5/6; AP 2/3; F1 2*2/(3+2)
    assert (m.auc[0], m.ap[0], m.f1[0]) == (pytest.approx(5 / 6), pytest.approx(2 / 3), pytest.approx(0.8))


def test_degenerate_classes_raise_no_numpy_warnings():
    y = np.array([[0, 1, 1], [0, 1, 0], [0, 1, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = class_metrics(np.array([[0.2, 0.3, 0.9], [0.1, 0.8, 0.4], [0.4, 0.6, 0.6]]), y)
    # class 0 has no positive and no score above 0.5: F1's denominator is 0 as well
    assert np.isnan(m.auc[:2]).all() and np.isnan(m.ap[0]) and np.isnan(m.f1[0]) and m.ap[1] == 1.0


def test_check_labels_returns_uint8_and_names_the_bad_cell():
    assert check_labels(np.array([[True, False]])).dtype == np.uint8
    with pytest.raises(MetricsInputError, match=r"^labels must be 2-D \[N, C\]; got shape \(3,\)$"):
        check_labels(np.array([0, 1, 1]))
    with pytest.raises(MetricsInputError, match=r"^labels must be 0/1; labels\[0, 1\] = 3$"):
        check_labels(np.array([[0, 3]]))
    with pytest.raises(MetricsInputError, match=r"^y_test must be 0/1"):
        check_labels(np.array([[0.5]]), "y_test")


def test_unsigned_labels_above_one_are_rejected_too():
    """uint8 labels take a one-comparison check; a 2 must still be refused."""
    with pytest.raises(MetricsInputError, match=r"^labels must be 0/1; labels\[1, 0\] = 2$"):
        check_labels(np.array([[1, 0], [2, 1]], dtype=np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equal_scores_in_neighbouring_classes_are_not_a_tie(dtype):
    """Classes are sorted side by side in one array: the lowest positive of class 1 (0.7) equals the highest
    positive of class 0 (0.7), and must not join its tie group. Class 1 by hand: positives at 0.7 and 0.9,
    negative at 0.8: AUROC 1/2, AP = 1/2 (at 0.9) * 1 + 1/2 (at 0.7) * 2/3."""
    p = np.array([[0.1, 0.7], [0.2, 0.8], [0.7, 0.9]], dtype=dtype)
    y = np.array([[0, 1], [0, 0], [1, 1]])
    m = class_metrics(p, y)
    assert m.auc.tolist() == pytest.approx([1.0, 0.5])
    assert m.ap.tolist() == pytest.approx([1.0, 0.5 + 0.5 * 2 / 3])
    assert m.ap[1] == pytest.approx(average_precision_score(y[:, 1], p[:, 1]))


def test_progress_reports_each_chunk_of_prediction_sets(monkeypatch):
    monkeypatch.setattr(metrics, "_CHUNK_ELEMENTS", 8)  # 4 x 1 scores per set: 2 sets per chunk
    p = np.tile(np.array([[0.1], [0.3], [0.3], [0.9]]), (5, 1, 1))
    calls = []
    m = class_metrics(p, np.array([[0], [1], [0], [1]]), progress=lambda *a: calls.append(a))
    assert calls == [(2, 5, "class metrics"), (4, 5, "class metrics"), (5, 5, "class metrics")]
    assert m.auc.ravel().tolist() == pytest.approx([0.875] * 5)


def test_progress_chunks_hold_as_many_one_by_one_sets_as_fit(monkeypatch):
    monkeypatch.setattr(metrics, "_CHUNK_ELEMENTS", 4)  # one image, one class: 4 sets per chunk
    calls = []
    class_metrics(np.full((5, 1, 1), 0.5), np.array([[1]]), progress=lambda *a: calls.append(a))
    assert [c[0] for c in calls] == [4, 5]


def test_progress_reports_every_set_when_one_set_exceeds_a_chunk(monkeypatch):
    monkeypatch.setattr(metrics, "_CHUNK_ELEMENTS", 3)
    p = np.tile(np.array([[0.1], [0.3], [0.3], [0.9]]), (3, 1, 1))
    calls = []
    m = class_metrics(p, np.array([[0], [1], [0], [1]]), progress=lambda *a: calls.append(a))
    assert [c[0] for c in calls] == [1, 2, 3]
    assert m.ap.ravel().tolist() == pytest.approx([5 / 6] * 3)


def test_metrics_table_known_answer_with_threshold_and_progress():
    p = np.array([[[[0.1], [0.3], [0.3], [0.9]], [[0.9], [0.2], [0.4], [0.6]]]])  # seed 3, sparsities 0 and 0.5
    y = np.array([[0], [1], [0], [1]])
    calls = []
    t = metrics_table(p, y, seeds=[3], sparsities=[0, 0.5], class_names=["x"], progress=lambda *a: calls.append(a))
    assert t["sparsity"].dtype == np.float64 and t["sparsity"].tolist() == [0.0, 0.5]
    assert t["auc"].tolist() == pytest.approx([0.875, 0.25])
    assert t["f1"].tolist() == pytest.approx([2 / 3, 2 / 4])  # default threshold 0.5
    assert calls == [(2, 2, "class metrics")]
    low = metrics_table(p, y, seeds=[3], sparsities=[0, 0.5], class_names=["x"], threshold=0.25)
    assert low["f1"].tolist() == pytest.approx([2 * 2 / (3 + 2), 2 * 1 / (3 + 2)])


@pytest.mark.parametrize(
    ("shape", "seeds", "sparsities", "classes"),
    [
        ((1, 2, 4, 1), [1], [0, 0.5], ["a", "b"]),
        ((1, 2, 4), [1], [0, 0.5], ["a"]),
        ((2, 2, 4, 1), [1], [0, 0.5], ["a"]),
    ],
)
def test_metrics_table_refuses_a_shape_that_does_not_fit_its_labels(shape, seeds, sparsities, classes):
    with pytest.raises(MetricsInputError, match=r"does not match \[seeds=1, sparsities=2, N, classes="):
        metrics_table(np.zeros(shape), np.zeros((4, 1)), seeds=seeds, sparsities=sparsities, class_names=classes)


def test_overall_table_averages_classes_per_seed_and_sparsity_in_sorted_order():
    t = pd.DataFrame(
        {
            "seed": [2, 2, 1, 1, 1, 1],
            "sparsity": [0.0, 0.0, 0.5, 0.5, 0.0, 0.0],
            "class": ["a", "b"] * 3,
            "auc": [0.8, 0.6, 0.5, np.nan, 0.9, 0.7],
            "ap": [0.4, 0.2, 0.3, np.nan, 0.6, 0.2],
            "f1": [0.1, 0.3, 0.2, np.nan, 0.5, 0.3],
        }
    )
    o = overall_table(t)
    assert list(o.columns) == ["seed", "sparsity", "mauc", "map", "mf1"]
    assert o[["seed", "sparsity"]].values.tolist() == [[1, 0.0], [1, 0.5], [2, 0.0]]
    np.testing.assert_allclose(
        o[["mauc", "map", "mf1"]].to_numpy(), [[0.8, 0.4, 0.4], [0.5, 0.3, 0.2], [0.7, 0.3, 0.2]]
    )
