import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from pruning.engine import nets
from pruning.engine.nets import build_model, imagenet_cache_path, prunable_modules

ROOT = Path(__file__).resolve().parents[2]


def test_build_model_rejects_an_unknown_architecture_and_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown architecture 'vgg16'.*resnet50, resnet18, small, tiny"):
        build_model("vgg16", 3, "random")


def test_tiny_net_has_conv_batchnorm_and_linear_layers_and_one_logit_per_class():
    model = build_model("tiny", 5, "random")
    kinds = {type(m) for m in model.modules()}
    assert {nn.Conv2d, nn.BatchNorm2d, nn.Linear} <= kinds
    assert model(torch.zeros(2, 3, 16, 16)).shape == (2, 5)


def test_small_net_is_deeper_than_tiny_and_has_one_logit_per_class():
    model = build_model("small", 4, "random").eval()
    assert len(prunable_modules(model)) == 9  # 8 convolutions and the head
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 4)
    with pytest.raises(ValueError, match="no ImageNet weights"):
        build_model("small", 3, "imagenet")


def test_resnet18_gets_a_new_head_with_num_classes_outputs():
    model = build_model("resnet18", 7, "random").eval()
    assert model.fc.out_features == 7
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 7)
    assert [n for n, _ in prunable_modules(model)][-1] == "fc"


def test_imagenet_init_fails_fast_with_a_clear_error_when_weights_are_not_cached(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(ValueError, match="not cached.*no internet"):
        build_model("resnet50", 20, "imagenet")


def test_imagenet_init_loads_cached_torchvision_weights_and_replaces_the_head(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    import torchvision

    torch.manual_seed(1)
    fake = torchvision.models.resnet18(weights=None)  # 1000-class "ImageNet" weights
    path = imagenet_cache_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.save(fake.state_dict(), path)
    model = build_model("resnet18", 4, "imagenet")
    assert torch.equal(model.conv1.weight, fake.conv1.weight)
    assert model.fc.out_features == 4


def test_tiny_net_has_no_imagenet_weights():
    with pytest.raises(ValueError, match="no ImageNet weights"):
        build_model("tiny", 3, "imagenet")


def test_weights_file_init_accepts_a_state_dict_and_a_checkpoint_dict(tmp_path):
    torch.manual_seed(0)
    src = build_model("tiny", 3, "random")
    torch.save(src.state_dict(), tmp_path / "sd.pt")
    torch.save({"model": src.state_dict(), "epoch": 3}, tmp_path / "ck.pt")
    for name in ("sd.pt", "ck.pt"):
        model = build_model("tiny", 3, tmp_path / name)
        for a, b in zip(model.state_dict().values(), src.state_dict().values(), strict=True):
            assert torch.equal(a, b)


def test_weights_file_with_another_head_size_keeps_the_backbone_and_a_fresh_head(tmp_path):
    src = build_model("tiny", 10, "random")
    torch.save(src.state_dict(), tmp_path / "w.pt")
    model = build_model("tiny", 3, tmp_path / "w.pt")
    assert torch.equal(model.features[0].weight, src.features[0].weight)
    assert model.fc.out_features == 3


def test_a_missing_or_unfit_weights_file_error_names_the_file(tmp_path):
    with pytest.raises(ValueError, match="nope.pt does not exist"):
        build_model("tiny", 3, tmp_path / "nope.pt")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt do not fit"):
        build_model("tiny", 3, tmp_path / "other.pt")


def test_engine_ml_modules_do_not_import_django():
    mods = ["nets", "prune", "store", "infer", "pies", "train", "prunecxr"]
    code = "import sys\n" + "".join(f"import pruning.engine.{m}\n" for m in mods) + "print('django' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_nets_module_lists_the_four_architectures():
    assert nets.ARCHS == ("resnet50", "resnet18", "small", "tiny")
