"""The compression registry: today's L1/random sweep bit for bit, levels validated per method."""

from pathlib import Path

import numpy as np
import pytest
import torch

from pruning.engine import compress
from pruning.engine.infer import sweep
from pruning.engine.nets import build_model
from pruning.engine.store import read_sidecar

FIXTURE = Path(__file__).parent / "fixtures" / "sweep_df22900.npz"


@pytest.mark.parametrize("arch", ["tiny", "small"])
@pytest.mark.parametrize("method", ["l1", "random"])
def test_l1_and_random_sweeps_are_bit_identical_to_the_sweep_before_the_registry(arch, method, tmp_path):
    # The fixture was written by fixtures/make_sweep_fixture.py at commit df22900 (prune.py's sweep).
    frozen = np.load(FIXTURE)
    images = np.random.default_rng(7).integers(0, 256, (12, 16, 16), dtype=np.uint8)
    torch.manual_seed(3)
    model = build_model(arch, 4, "random").eval()
    levels = frozen["levels"].tolist()
    ps = sweep(model, images, levels, method, tmp_path / "p.npz", seed=5, device="cpu", batch_size=5)
    assert np.array_equal(ps.probs, frozen[f"{arch}_{method}"])


def test_the_sidecar_records_the_method_its_level_unit_and_heavy_level(tmp_path):
    torch.manual_seed(0)
    model = build_model("tiny", 3, "random")
    images = np.zeros((4, 16, 16), np.uint8)
    sweep(model, images, [0.0, 0.5], "l1", tmp_path / "p.npz", device="cpu")
    side = read_sidecar(tmp_path / "p.npz")
    assert side["method"] == "l1" and side["heavy_level"] == 0.9
    assert side["level_unit"] == "fraction of Conv2d/Linear weights zeroed"


def test_every_registered_method_has_default_levels_that_start_dense_and_include_its_heavy_level():
    for spec in compress.REGISTRY.values():
        levels = spec.validate_levels(spec.default_levels)
        assert levels[0] == 0.0 and spec.heavy_level in levels, spec.name
        assert levels == sorted(levels), spec.name


def test_a_level_a_method_does_not_have_is_refused_naming_the_method_and_its_levels():
    with pytest.raises(compress.MethodError, match=r"^int8_static: level 0.5 is not one of its levels \(0, 0.75;"):
        compress.get("int8_static").validate_levels([0, 0.5])
    with pytest.raises(compress.MethodError, match=r"^nm: sparsity 0.3 is not one of its levels"):
        compress.get("nm").validate_levels([0, 0.3])
    with pytest.raises(compress.MethodError, match=r"^unknown compression method 'l2'; valid: l1, random, "):
        compress.get("l2")


def test_an_unknown_method_fails_before_any_file_is_written(tmp_path):
    model = build_model("tiny", 3, "random")
    with pytest.raises(compress.MethodError, match="unknown compression method"):
        sweep(model, np.zeros((2, 16, 16), np.uint8), [0.0], "l2", tmp_path / "p.npz", device="cpu")
    assert not (tmp_path / "p.npz").exists()
