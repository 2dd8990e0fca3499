"""Sparsities are compared with one tolerance everywhere (common/sparsity.py)."""

import numpy as np

from common.sparsity import TOLERANCE, same_sparsity, same_sweep, sparsity_index, swept


def test_float_noise_is_the_same_sparsity_and_a_visible_difference_is_not():
    assert same_sparsity(0.9, 0.9000000000000001)
    assert same_sparsity(0.9, 0.9 + TOLERANCE)
    assert not same_sparsity(0.9, 0.9 + 2 * TOLERANCE)
    assert not same_sparsity(0.9, 0.91)


def test_index_is_the_first_match_or_none():
    sweep = [0.0, 0.5, 0.9, 0.95]
    assert sparsity_index(sweep, 0.9000000000000001) == 2
    assert sparsity_index(np.array(sweep), 0) == 0
    assert sparsity_index(sweep, 0.99) is None
    assert swept(sweep, 0.95) and not swept(sweep, 0.96) and not swept([], 0.5)


def test_two_sweeps_match_only_with_the_same_values_in_the_same_order():
    assert same_sweep([0.0, 0.5, 0.9], np.array([0.0, 0.5, 0.9000000000000001]))
    assert not same_sweep([0.0, 0.5, 0.9], [0.0, 0.9, 0.5])
    assert not same_sweep([0.0, 0.5], [0.0, 0.5, 0.9])
