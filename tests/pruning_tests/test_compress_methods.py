"""Each compression method at tiny scale: level 0 is the dense model, levels do what they say, and a
method that cannot apply fails at once naming the layer."""

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet

from pruning.engine import compress
from pruning.engine.infer import predict, sweep, to_model_input
from pruning.engine.nets import build_model, prunable_modules

IMAGES = np.random.default_rng(1).integers(0, 256, (8, 16, 16), dtype=np.uint8)


def fine_tune_set(images, n_classes=3):
    """A training set for the methods that fine-tune (IMP): the images themselves, random labels."""
    from pruning.engine.train import TrainConfig, TrainingSet

    labels = (np.random.default_rng(0).random((len(images), n_classes)) < 0.5).astype(np.int64)
    config = TrainConfig(arch="tiny", batch_size=4, image_size=images.shape[-1], device="cpu")
    return TrainingSet(images, labels, config)


def tiny():
    torch.manual_seed(0)
    return build_model("tiny", 3, "random").eval()


def compressor(name, model):
    example = to_model_input(torch.from_numpy(IMAGES[:1]))
    calib = to_model_input(torch.from_numpy(IMAGES))
    return compress.get(name).load()(model, seed=0, calibration=calib, example=example)


@pytest.mark.parametrize("method", compress.METHODS)
def test_level_zero_predictions_equal_the_dense_models(method, tmp_path):
    model = tiny()
    dense = predict(model, IMAGES, device="cpu")
    spec = compress.get(method)
    training = fine_tune_set(IMAGES) if spec.needs_training else None
    levels = spec.default_levels[:2]
    ps = sweep(model, IMAGES, levels, method, tmp_path / "p.npz", device="cpu", calibration=IMAGES, training=training)
    assert np.array_equal(ps.probs[0], dense)
    assert not np.array_equal(ps.probs[1], dense)  # the compressed level does change the outputs
    assert np.array_equal(predict(model, IMAGES, device="cpu"), dense)  # and the model is dense again


def test_layerwise_l1_zeroes_the_same_fraction_of_every_layer():
    model = tiny()
    comp = compressor("layer_l1", model)
    comp.apply(model, 0.5)
    for name, m in prunable_modules(model):
        assert int((m.weight == 0).sum()) == round(0.5 * m.weight.numel()), name
    comp.restore(model)
    assert all(int((m.weight == 0).sum()) == 0 for _, m in prunable_modules(model))


def test_two_to_four_keeps_the_two_largest_weights_of_every_group_of_four_input_channels():
    model = tiny()
    dense = {n: m.weight.detach().clone() for n, m in prunable_modules(model)}
    compressor("nm", model).apply(model, 0.5)
    stem, conv2, fc = prunable_modules(model)
    assert torch.equal(stem[1].weight, dense[stem[0]])  # the image stem (3 channels) stays dense
    w = conv2[1].weight.permute(0, 2, 3, 1).reshape(-1, 4)
    d = dense[conv2[0]].permute(0, 2, 3, 1).reshape(-1, 4)
    assert ((w != 0).sum(1) == 2).all()
    kept = d.abs().topk(2, dim=1).indices.sort(1).values
    assert torch.equal((w != 0).nonzero()[:, 1].view(-1, 2), kept)
    assert ((fc[1].weight.view(-1, 4) != 0).sum(1) == 2).all()


def test_nm_names_the_layer_whose_input_is_not_a_multiple_of_four():
    pool = (nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 6, 3), *pool, nn.Linear(6, 2))
    with pytest.raises(compress.MethodError, match=r"^nm: layer '4' has 6 input channels, not a multiple of 4$"):
        compressor("nm", model)


def small_resnet():
    torch.manual_seed(0)
    return ResNet(BasicBlock, [1, 1, 1, 1], num_classes=3).eval()


def test_structured_pruning_of_a_resnet_really_shrinks_it_and_keeps_its_outputs_shape():
    model = small_resnet()
    comp = compressor("structured", model)
    n_dense = sum(p.numel() for p in model.parameters())
    net = comp.apply(model, 0.5)
    n_pruned = sum(p.numel() for p in net.parameters())
    assert n_pruned < 0.4 * n_dense  # half the channels of most convs: about a quarter of their weights
    assert net.layer1[0].conv1.out_channels == 32 and net.fc.out_features == 3
    x = to_model_input(torch.from_numpy(IMAGES))
    assert net(x).shape == (8, 3)
    assert sum(p.numel() for p in model.parameters()) == n_dense  # the dense model is untouched


def test_structured_levels_are_nested_and_going_down_equals_a_fresh_start():
    model = small_resnet()
    x = to_model_input(torch.from_numpy(IMAGES))
    comp = compressor("structured", model)
    comp.apply(model, 0.3)
    at_half = comp.apply(model, 0.5)(x)
    fresh = compressor("structured", model)
    assert torch.allclose(fresh.apply(model, 0.5)(x), at_half, atol=1e-5)  # 0 -> 0.5 == 0 -> 0.3 -> 0.5
    again = comp.apply(model, 0.3)(x)  # down again: rebuilt from the dense model
    assert torch.allclose(compressor("structured", model).apply(model, 0.3)(x), again, atol=1e-5)


def test_int8_static_predictions_stay_close_to_the_dense_models():
    model = tiny()
    x = to_model_input(torch.from_numpy(IMAGES))
    net = compressor("int8_static", model).apply(model, 0.75)
    with torch.inference_mode():
        diff = (torch.sigmoid(net(x)) - torch.sigmoid(model(x))).abs().max()
    assert 0 < diff < 0.05


def test_int8_static_without_calibration_images_fails_before_any_file_is_written(tmp_path):
    with pytest.raises(compress.MethodError, match="int8_static needs calibration images"):
        sweep(tiny(), IMAGES, [0.0, 0.75], "int8_static", tmp_path / "p.npz", device="cpu")
    assert not (tmp_path / "p.npz").exists()


def test_fp16_weights_are_saved_as_fp16_and_equal_the_dense_weights_rounded():
    model = tiny()
    comp = compressor("fp16", model)
    net = comp.apply(model, 0.5)
    stored = comp.storage(net)
    assert stored["fc.weight"].dtype == torch.float16
    assert torch.equal(net.fc.weight, model.fc.weight.half().float())


def masked_small_forward(net, x, gone):
    """SmallNet's own forward with the removed channels zeroed after every stream update (the reference)."""
    for down, res, width in zip(net.down, net.res, net.widths, strict=True):
        keep = torch.ones(1, width, 1, 1)
        keep[0, [c for c in gone if c < width]] = 0
        skip = nn.functional.avg_pool2d(x, 2, ceil_mode=True)
        skip = nn.functional.pad(skip, (0, 0, 0, 0, 0, width - skip.shape[1]))
        x = torch.relu(down(x) + skip) * keep
        x = torch.relu(x + res(x)) * keep
    return net.fc(x.mean((2, 3)))


def test_structured_pruning_of_the_small_net_equals_zeroing_the_removed_channels_everywhere():
    torch.manual_seed(0)
    model = build_model("small", 3, "random").eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so a wrong channel shows
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    x = to_model_input(torch.from_numpy(np.random.default_rng(3).integers(0, 256, (4, 32, 32), dtype=np.uint8)))
    comp = compressor("structured", model)
    for level in (0.3, 0.6):
        net = comp.apply(model, level)
        gone = {c for g in comp.smallnet.groups for c in g[: min(round(level * len(g)), len(g) - 1)].tolist()}
        with torch.no_grad():
            assert torch.allclose(net(x), masked_small_forward(model, x, gone), atol=1e-5)
        n_dense, n_net = sum(p.numel() for p in model.parameters()), sum(p.numel() for p in net.parameters())
        assert n_net < (1 - level) * n_dense  # channels go from both sides of most convs
    kept_all = comp.smallnet.prune(0.0)
    with torch.no_grad():
        assert torch.allclose(kept_all(x), model(x), atol=1e-5)  # nothing removed: the dense function
