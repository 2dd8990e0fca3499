import dataclasses

import numpy as np
import pytest
import torch

from common.progress import Cancelled
from pruning.engine import infer
from pruning.engine.infer import predict, sweep, to_model_input
from pruning.engine.nets import build_model, prunable_modules
from pruning.engine.store import PredictionSet, read_sidecar

SPARSITIES = [0.0, 0.25, 0.5, 0.75, 0.9]


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model("tiny", 3, "random").eval()


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (10, 16, 16), dtype=np.uint8)


def test_model_input_is_imagenet_normalised_grayscale_copied_to_three_channels():
    x = to_model_input(torch.full((1, 4, 4), 255, dtype=torch.uint8))
    assert x.shape == (1, 3, 4, 4)
    expected = [(1 - m) / s for m, s in zip(infer.IMAGENET_MEAN, infer.IMAGENET_STD, strict=True)]
    assert torch.allclose(x[0, :, 0, 0], torch.tensor(expected))
    assert to_model_input(torch.zeros((2, 20, 20), dtype=torch.uint8), image_size=8).shape == (2, 3, 8, 8)


def test_predict_returns_float32_sigmoids_equal_to_a_manual_forward_pass(model, images):
    probs = predict(model, images, batch_size=4, device="cpu")
    assert probs.shape == (10, 3) and probs.dtype == np.float32
    with torch.no_grad():
        manual = torch.sigmoid(model(to_model_input(torch.from_numpy(images)))).numpy()
    np.testing.assert_allclose(probs, manual, rtol=1e-5, atol=1e-6)


def test_sweep_predicts_every_sparsity_and_leaves_the_model_dense(model, images, tmp_path):
    dense = [m.weight.clone() for _, m in prunable_modules(model)]
    ps = sweep(model, images, SPARSITIES, "l1", tmp_path / "p.npz", device="cpu", class_names=["a", "b", "c"])
    assert ps.complete and ps.probs.shape == (5, 10, 3)
    np.testing.assert_array_equal(ps.probs[0], predict(model, images, device="cpu"))
    assert not np.array_equal(ps.probs[0], ps.probs[-1])
    assert all(torch.equal(m.weight, w) for (_, m), w in zip(prunable_modules(model), dense, strict=True))
    assert PredictionSet.load(tmp_path / "p.npz").class_names == ["a", "b", "c"]


def test_sweep_records_achieved_sparsity_per_layer_in_the_sidecar(model, images, tmp_path):
    sweep(model, images, SPARSITIES, "l1", tmp_path / "p.npz", device="cpu")
    side = read_sidecar(tmp_path / "p.npz")
    assert side["method"] == "l1"
    entry = side["achieved"]["0.5"]
    assert entry["n_masked"] == round(0.5 * side["n_weights"])
    assert entry["overall"] == pytest.approx(0.5, abs=1e-3) and "fc.weight" in entry


def test_interrupted_sweep_resumes_without_recomputing_finished_sparsities(model, images, tmp_path, monkeypatch):
    reference = sweep(model, images, SPARSITIES, "random", tmp_path / "ref.npz", seed=4, device="cpu")

    def cancel_after_two(done, total, message):
        if done == 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        sweep(model, images, SPARSITIES, "random", tmp_path / "p.npz", seed=4, device="cpu", progress=cancel_after_two)
    partial = PredictionSet.load(tmp_path / "p.npz")
    assert partial.done.tolist() == [True, True, False, False, False]

    calls = []
    real_predict = infer.predict
    monkeypatch.setattr(infer, "predict", lambda *a, **k: calls.append(1) or real_predict(*a, **k))
    resumed = sweep(model, images, SPARSITIES, "random", tmp_path / "p.npz", seed=4, device="cpu")
    assert len(calls) == 3
    np.testing.assert_array_equal(resumed.probs, reference.probs)


def test_sweeping_a_finished_store_again_does_no_inference(model, images, tmp_path, monkeypatch):
    first = sweep(model, images, SPARSITIES, "l1", tmp_path / "p.npz", device="cpu")

    def no_inference(*args, **kwargs):
        raise AssertionError("inference ran on a finished store")

    monkeypatch.setattr(infer, "predict", no_inference)
    spec = infer.compress.REGISTRY["l1"]
    monkeypatch.setitem(infer.compress.REGISTRY, "l1", dataclasses.replace(spec, load=no_inference))
    again = sweep(model, images, SPARSITIES, "l1", tmp_path / "p.npz", device="cpu")
    np.testing.assert_array_equal(again.probs, first.probs)


def test_resuming_into_a_store_made_by_another_sweep_is_refused(model, images, tmp_path):
    sweep(model, images, [0.0, 0.5], "l1", tmp_path / "p.npz", device="cpu")
    with pytest.raises(ValueError, match="p.npz: store has sparsities"):
        sweep(model, images, [0.0, 0.9], "l1", tmp_path / "p.npz", device="cpu")
    with pytest.raises(ValueError, match="made with method='l1'"):
        sweep(model, images, [0.0, 0.5], "random", tmp_path / "p.npz", device="cpu")


def test_sweep_rejects_an_invalid_sparsity_before_any_work(model, images, tmp_path):
    with pytest.raises(ValueError, match="sparsity 1.0 is outside"):
        sweep(model, images, [0.0, 1.0], "l1", tmp_path / "p.npz", device="cpu")
    assert not (tmp_path / "p.npz").exists()


def test_images_must_be_uint8_arrays(model, tmp_path):
    with pytest.raises(ValueError, match="must be uint8"):
        predict(model, np.zeros((2, 8, 8), dtype=np.float32), device="cpu")
