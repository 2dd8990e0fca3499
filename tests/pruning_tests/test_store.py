import numpy as np
import pytest

from pruning.engine.store import PredictionSet, read_sidecar, sidecar_path, stack_seeds, write_sidecar


def make_set(seed=0, s=3, n=4, c=2, ids=None, classes=None):
    rng = np.random.default_rng(seed)
    return PredictionSet(
        probs=rng.random((s, n, c), dtype=np.float32),
        sparsities=np.round(np.arange(s) * 0.05, 2),
        image_ids=ids or [f"img{i}" for i in range(n)],
        class_names=classes or [f"c{j}" for j in range(c)],
    )


def test_prediction_set_round_trips_through_npz_exactly(tmp_path):
    ps = make_set()
    ps.done[1] = False
    ps.probs[1] = np.nan
    ps.save(tmp_path / "predictions.npz")
    back = PredictionSet.load(tmp_path / "predictions.npz")
    np.testing.assert_array_equal(back.probs, ps.probs)
    assert back.probs.dtype == np.float32 and back.sparsities.dtype == np.float64
    assert back.done.tolist() == [True, False, True]
    assert back.image_ids == ps.image_ids and back.class_names == ps.class_names


def test_save_leaves_no_temporary_files_behind(tmp_path):
    make_set().save(tmp_path / "p.npz")
    make_set(seed=1).save(tmp_path / "p.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz"]


def test_shape_mismatches_get_a_clear_error():
    with pytest.raises(ValueError, match=r"probs shape \(3, 4, 2\) does not match 3 sparsities x 5 image ids"):
        PredictionSet(np.zeros((3, 4, 2)), [0, 0.1, 0.2], [str(i) for i in range(5)], ["a", "b"])
    with pytest.raises(ValueError, match="must be \\[S, N, C\\]"):
        PredictionSet(np.zeros((4, 2)), [0], ["a"], ["a"])


def test_a_done_sparsity_with_nan_probabilities_is_rejected():
    ps = make_set()
    ps.probs[2, 0, 0] = np.nan
    with pytest.raises(ValueError, match="sparsity 0.1 is marked done"):
        ps.validate()


def test_loading_a_file_without_the_expected_arrays_names_the_file(tmp_path):
    np.savez(tmp_path / "bad.npz", probs=np.zeros((1, 1, 1)))
    with pytest.raises(ValueError, match="bad.npz: missing arrays"):
        PredictionSet.load(tmp_path / "bad.npz")


def test_loading_a_truncated_store_raises_a_value_error_naming_the_file(tmp_path):
    path = tmp_path / "cut.npz"
    make_set().save(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="cut.npz: cannot read prediction store"):
        PredictionSet.load(path)


def test_empty_store_has_nothing_done_and_nan_probabilities():
    ps = PredictionSet.empty([0.0, 0.5], ["a", "b", "c"], ["x"])
    assert ps.probs.shape == (2, 3, 1) and np.isnan(ps.probs).all() and not ps.done.any()


def test_stack_seeds_stacks_matching_sets_into_a_four_dimensional_array():
    probs, sparsities, ids, classes = stack_seeds([make_set(0), make_set(1)])
    assert probs.shape == (2, 3, 4, 2)
    assert sparsities.tolist() == [0.0, 0.05, 0.1] and ids[0] == "img0" and classes == ["c0", "c1"]


def test_stack_seeds_refuses_sets_that_disagree_or_are_unfinished():
    with pytest.raises(ValueError, match="other image ids"):
        stack_seeds([make_set(0), make_set(1, ids=list("abcd"))])
    with pytest.raises(ValueError, match="has classes"):
        stack_seeds([make_set(0), make_set(1, classes=["c1", "c0"])])
    unfinished = make_set(1)
    unfinished.done[0] = False
    with pytest.raises(ValueError, match=r"set 1 is unfinished \(sparsities \[0.0\]"):
        stack_seeds([make_set(0), unfinished])


def test_index_of_tolerates_float_noise_in_sparsities():
    ps = make_set()
    assert ps.index_of(0.1 + 1e-12) == 2
    with pytest.raises(ValueError, match="sparsity 0.9 not in"):
        ps.index_of(0.9)


def test_sidecar_sits_next_to_the_store_and_round_trips(tmp_path):
    path = tmp_path / "predictions.npz"
    write_sidecar(path, {"method": "l1", "achieved": {"0.5": {"overall": 0.5}}})
    assert sidecar_path(path).name == "predictions.sparsity.json"
    assert read_sidecar(path)["achieved"]["0.5"]["overall"] == 0.5
