"""Iterative magnitude pruning with fine-tuning (compress.imp) at tiny scale, on CPU."""

import numpy as np
import pytest
import torch

from common.progress import Cancelled
from pruning.engine import compress
from pruning.engine.infer import predict, scratch_dir, sweep, to_model_input
from pruning.engine.nets import build_model, prunable_modules
from pruning.engine.store import read_sidecar
from pruning.engine.train import TrainConfig, TrainingSet

RNG = np.random.default_rng(4)
IMAGES = RNG.integers(0, 256, (10, 16, 16), dtype=np.uint8)
TRAIN = RNG.integers(0, 256, (24, 16, 16), dtype=np.uint8)
LABELS = (RNG.random((24, 3)) < 0.4).astype(np.int64)
CONFIG = TrainConfig(arch="tiny", batch_size=8, lr=1e-2, image_size=16, device="cpu")
LEVELS = [0.0, 0.3, 0.6, 0.9]


def tiny():
    torch.manual_seed(0)
    return build_model("tiny", 3, "random").eval()


def training():
    return TrainingSet(TRAIN, LABELS, CONFIG)


def imp_sweep(path, levels=LEVELS, model=None, **params):
    model = model or tiny()
    return sweep(model, IMAGES, levels, "imp", path, seed=3, device="cpu", training=training(), params=params)


def compressor(model, scratch=None, **params):
    example = to_model_input(torch.from_numpy(IMAGES[:1]))
    spec = compress.get("imp")
    params = spec.validate_params(params)
    return spec.load()(model, seed=3, example=example, params=params, training=training(), scratch=scratch)


def weights(model):
    return [m.weight.detach().clone() for _, m in prunable_modules(model)]


def test_level_zero_is_the_dense_model_and_the_model_is_dense_again_after(tmp_path):
    model = tiny()
    dense = predict(model, IMAGES, device="cpu")
    ps = imp_sweep(tmp_path / "p.npz", model=model)
    assert np.array_equal(ps.probs[0], dense)
    assert not np.array_equal(ps.probs[1], dense)
    assert np.array_equal(predict(model, IMAGES, device="cpu"), dense)


def test_each_level_has_exactly_its_sparsity_after_fine_tuning_with_nested_masks():
    model = tiny()
    comp = compressor(model)
    n = comp.n_weights
    previous_zero = None
    nonzeros = []
    for level in LEVELS:
        comp.apply(model, level)
        zero = torch.cat([(w == 0).reshape(-1) for w in weights(model)])
        assert int(zero.sum()) == round(level * n), level  # the mask survived the fine-tune
        if previous_zero is not None:
            assert bool((zero | ~previous_zero).all())  # every weight pruned before is still pruned
        previous_zero = zero
        nonzeros.append(int((~zero).sum()))
    assert nonzeros == sorted(nonzeros, reverse=True) and len(set(nonzeros)) == len(nonzeros)


def test_fine_tuning_changes_the_surviving_weights_and_lowers_the_train_loss():
    model = tiny()
    comp = compressor(model, finetune_epochs=3)
    comp.keep = comp.prune_step(model, 0.5)
    pruned = weights(model)
    before = comp.training.loss(model)
    comp.finetune(model, 0.5)
    after = weights(model)
    changed = [bool(((a != b) & k).any()) for a, b, k in zip(after, pruned, comp.keep, strict=True)]
    assert all(changed)
    assert all(bool((a[~k] == 0).all()) for a, k in zip(after, comp.keep, strict=True))
    assert comp.training.loss(model) < before


def test_the_sidecar_records_the_train_loss_before_and_after_each_fine_tune(tmp_path):
    imp_sweep(tmp_path / "p.npz", finetune_epochs=2)
    side = read_sidecar(tmp_path / "p.npz")
    assert side["params"] == {"finetune_epochs": 2, "rewind": False}
    tune = side["achieved"][repr(0.6)]["finetune"]
    assert tune["level"] == 0.6 and len(tune["epoch_losses"]) == 2
    assert tune["train_loss_finetuned"] != tune["train_loss_pruned"]


def test_rewinding_puts_the_dense_weights_back_on_the_survivors_before_the_fine_tune():
    model = tiny()
    dense = weights(model)
    comp = compressor(model, rewind=True)
    comp.apply(model, 0.3)  # fine-tuned: survivors moved away from the dense weights
    assert any(bool((w != d)[w != 0].any()) for w, d in zip(weights(model), dense, strict=True))
    comp.keep = comp.prune_step(model, 0.6)
    for w, d, keep in zip(weights(model), dense, comp.keep, strict=True):
        assert torch.equal(w[keep], d[keep]) and bool((w[~keep] == 0).all())
    assert sum(int(k.sum()) for k in comp.keep) == comp.n_weights - round(0.6 * comp.n_weights)


def test_without_rewinding_the_survivors_keep_their_fine_tuned_values():
    model = tiny()
    comp = compressor(model)
    comp.apply(model, 0.3)
    tuned = weights(model)
    comp.keep = comp.prune_step(model, 0.6)
    for w, t, keep in zip(weights(model), tuned, comp.keep, strict=True):
        assert torch.equal(w[keep], t[keep])


def test_zero_fine_tune_epochs_is_one_shot_global_l1_at_every_level(tmp_path):
    model = tiny()
    ours = imp_sweep(tmp_path / "imp.npz", model=model, finetune_epochs=0)
    one_shot = sweep(model, IMAGES, LEVELS, "l1", tmp_path / "l1.npz", device="cpu")
    assert np.array_equal(ours.probs, one_shot.probs)


def stop_after_two_levels(done, total, message):
    if done == 2 and "done" in message:
        raise Cancelled("stop")


def interrupted_sweep(path):
    with pytest.raises(Cancelled):
        sweep(tiny(), IMAGES, LEVELS, "imp", path, seed=3, device="cpu", training=training(),
              progress=stop_after_two_levels)  # fmt: skip


def test_an_interrupted_sweep_resumes_to_the_same_predictions(tmp_path):
    full = imp_sweep(tmp_path / "full.npz")
    path = tmp_path / "cut.npz"
    interrupted_sweep(path)
    assert sorted(p.name for p in scratch_dir(path).iterdir()) == [f"level-{0.3!r}.pt"]
    resumed = imp_sweep(path)
    assert np.array_equal(resumed.probs, full.probs)
    assert not scratch_dir(path).exists()  # a complete sweep keeps no level states


def test_a_resume_with_other_parameters_is_refused(tmp_path):
    path = tmp_path / "p.npz"
    interrupted_sweep(path)
    with pytest.raises(ValueError, match="store was made with params="):
        imp_sweep(path, finetune_epochs=2)


def test_levels_must_increase_and_parameters_are_checked_by_name():
    spec = compress.get("imp")
    with pytest.raises(compress.MethodError, match=r"^imp: sparsity levels must increase .*; 0.5 comes after 0.8$"):
        spec.validate_levels([0, 0.8, 0.5])
    with pytest.raises(compress.MethodError, match=r"^imp: finetune_epochs must be a whole number from 0 to 100, got"):
        spec.validate_params({"finetune_epochs": "two"})
    with pytest.raises(compress.MethodError, match=r"^imp: finetune_epochs must be a whole number .* got -1$"):
        spec.validate_params({"finetune_epochs": -1})
    with pytest.raises(compress.MethodError, match=r"^imp: rewind must be true or false, got 'maybe'$"):
        spec.validate_params({"rewind": "maybe"})
    with pytest.raises(compress.MethodError, match=r"^imp: unknown parameter 'epochs' \(its parameters: finetune_"):
        spec.validate_params({"epochs": 1})
    assert spec.validate_params({"rewind": "yes"}) == {"finetune_epochs": 1, "rewind": True}


def test_a_sweep_without_a_training_set_fails_before_writing(tmp_path):
    with pytest.raises(compress.MethodError, match="^imp fine-tunes on the training set; none given$"):
        sweep(tiny(), IMAGES, LEVELS, "imp", tmp_path / "p.npz", device="cpu")
    assert not (tmp_path / "p.npz").exists()
