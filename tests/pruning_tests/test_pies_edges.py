"""Known answers on edge inputs of PIE selection (issue 18: mutants listed as equivalent that a valid
input tells apart)."""

import numpy as np
import pytest

from pruning.engine.pies import _centred_doubled_ranks, select_pies_from_mean


def test_a_single_nan_score_has_a_nan_rank_and_a_single_number_rank_zero():
    assert np.isnan(_centred_doubled_ranks(np.array([[np.nan]]))).all()
    assert _centred_doubled_ranks(np.array([[0.3]])).tolist() == [[0.0]]
    assert _centred_doubled_ranks(np.zeros((2, 0))).shape == (2, 0)


def test_integer_sparsities_are_named_as_floats_in_refusals():
    mean = np.full((1, 3, 2), 0.5)
    with pytest.raises(ValueError, match=r"^sparsity 0\.9 not among \[0\.0\]$"):
        select_pies_from_mean(mean, [0], sparsity=0.9, n_seeds=1)
    with pytest.raises(ValueError, match=r"^no dense \(sparsity 0\) predictions among \[1\.0\]$"):
        select_pies_from_mean(mean, [1], sparsity=0.9, n_seeds=1)
