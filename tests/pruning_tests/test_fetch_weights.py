"""`manage.py fetch_weights`: ImageNet weights into the torch hub cache from a file, or a clear offline error."""

import pytest
import torch
import torchvision
from django.core.management import CommandError, call_command

from pruning.engine.nets import build_model, imagenet_cache_path, imagenet_expected_sha256_prefix


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # torch.hub.get_dir() reads it per call
    return tmp_path


def fake_imagenet_file(path):
    torch.manual_seed(3)
    model = torchvision.models.resnet18(weights=None)  # 1000-class head, as the real file
    torch.save(model.state_dict(), path)
    return model


def test_a_file_whose_hash_does_not_match_torchvisions_name_is_refused_and_nothing_is_cached(hub):
    fake_imagenet_file(hub / "copy.pth")
    with pytest.raises(CommandError, match=rf"does not start with {imagenet_expected_sha256_prefix('resnet18')}"):
        call_command("fetch_weights", "--arch", "resnet18", "--from", str(hub / "copy.pth"))
    assert not imagenet_cache_path("resnet18").exists()
    assert not list(imagenet_cache_path("resnet18").parent.glob(".*.tmp")), "no temp file left behind"


def test_installed_weights_make_imagenet_init_work_offline(hub, capsys):
    src = fake_imagenet_file(hub / "copy.pth")
    call_command("fetch_weights", "--arch", "resnet18", "--from", str(hub / "copy.pth"), "--skip-hash-check")
    assert imagenet_cache_path("resnet18").is_file()
    assert str(imagenet_cache_path("resnet18")) in capsys.readouterr().out
    model = build_model("resnet18", 5, "imagenet")
    assert torch.equal(model.layer1[0].conv1.weight, src.layer1[0].conv1.weight) and model.fc.out_features == 5


def test_a_file_that_is_not_the_architectures_weights_is_refused(hub):
    torch.save(build_model("tiny", 3, "random").state_dict(), hub / "tiny.pth")
    with pytest.raises(CommandError, match="do not fit this model"):
        call_command("fetch_weights", "--arch", "resnet18", "--from", str(hub / "tiny.pth"), "--skip-hash-check")


def test_offline_download_names_the_url_and_the_from_option(hub):
    # These machines have no internet: the real download fails, and must say what to do instead.
    with pytest.raises(CommandError, match=r"could not download https://.*resnet18.*--from FILE"):
        call_command("fetch_weights", "--arch", "resnet18")


def test_the_offline_training_error_names_the_command_and_the_setting(hub):
    with pytest.raises(ValueError, match=r"fetch_weights --arch resnet50.*ALLOW_WEIGHTS_DOWNLOAD=1"):
        build_model("resnet50", 20, "imagenet")


def test_expected_hash_prefix_is_the_one_in_torchvisions_file_name():
    name = imagenet_cache_path("resnet50").name
    assert name == f"resnet50-{imagenet_expected_sha256_prefix('resnet50')}.pth"
