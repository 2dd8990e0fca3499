"""Known answers on edge inputs of metrics and forgettability (issue 18: mutants listed as equivalent
that a valid input tells apart). Warnings are errors here: a computation the code means to be silent
must stay silent."""

import warnings

import numpy as np
import pytest

from analysis.core.forgettability import change_at, compute_forgettability, median_relative_change
from analysis.core.metrics import check_labels, class_metrics, metrics_frame


def test_f1_on_the_score_path_is_silent_and_nan_for_a_class_with_no_positive_and_no_prediction():
    # Negative scores take the score path for F1; class 1 has no positive and nothing above 0.5:
    # its F1 is 0/0, which must neither warn nor become a number.
    probs = np.array([[0.9, -0.2], [-0.1, -0.3], [0.7, -0.4]])
    labels = np.array([[1, 0], [0, 0], [1, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = class_metrics(probs, labels)
    assert m.f1[0] == 1.0 and np.isnan(m.f1[1])
    assert np.isnan(m.ap[1]) and np.isnan(m.auc[1])


def test_f1_with_a_numpy_threshold_is_silent_for_a_class_with_no_positive():
    # A numpy float threshold also takes the score path (non-negative scores this time).
    probs = np.array([[0.9, 0.2], [0.1, 0.3]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = class_metrics(probs, np.array([[1, 0], [0, 0]]), threshold=np.float64(0.5))
    assert m.f1[0] == 1.0 and np.isnan(m.f1[1])


def test_a_single_integer_sparsity_still_gives_a_float_sparsity_column():
    m = class_metrics(np.array([[[[0.9, 0.2], [0.1, 0.3]]]]), np.array([[1, 0], [0, 1]]))
    frame = metrics_frame(m, seeds=[0], sparsities=[0], class_names=["a", "b"])
    assert frame["sparsity"].dtype == np.float64
    assert frame["sparsity"].tolist() == [0.0, 0.0]


def test_median_change_of_a_class_without_positives_is_nan_without_a_warning():
    ap = np.array([[[0.5, np.nan], [0.25, np.nan]], [[0.4, np.nan], [0.4, np.nan]]])  # [seeds, S, C]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rel = median_relative_change(ap)
    assert rel[1, 0] == pytest.approx(-0.25)  # median of -0.5 and 0.0
    assert np.isnan(rel[:, 1]).all()


def test_a_dense_only_forgettability_keeps_float_sparsities():
    ap = np.array([[[0.5, 0.2]]])
    result = compute_forgettability(ap, ap, [0], ["a", "b"])
    assert result.sparsities.dtype == np.float64
    assert result.table()["sparsity"].dtype == np.float64
    assert result.delta_ap.sparsity == 0.0 and not result.delta_ap.is_target


def test_change_at_returns_float_values_for_integer_curves():
    at = change_at(np.array([[0, 0], [-1, 0]]), [0, 0.95])
    assert at.values.dtype == np.float64
    assert at.values.tolist() == [-1.0, 0.0] and at.is_target and at.sparsity == 0.95


def test_valid_uint8_labels_are_used_as_they_are_without_a_copy():
    # Label matrices of a full test set are large; a valid uint8 one is checked, not duplicated.
    y = np.array([[1, 0], [0, 1]], dtype=np.uint8)
    assert check_labels(y) is y
    assert check_labels(y.astype(np.int64)).dtype == np.uint8
