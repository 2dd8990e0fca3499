"""Measured costs per level, stored next to the predictions."""

import numpy as np
import pytest
import torch

from pruning.engine import compress
from pruning.engine.compress.costs import CostConfig
from pruning.engine.infer import sweep
from pruning.engine.nets import build_model
from pruning.engine.store import read_sidecar

from .test_compress_methods import fine_tune_set

IMAGES = np.random.default_rng(2).integers(0, 256, (6, 16, 16), dtype=np.uint8)
QUICK = CostConfig(repeats=1, batches=(1, 2))


def costs_of(method, arch, tmp_path, levels=None, images=IMAGES):
    torch.manual_seed(0)
    model = build_model(arch, 4, "random").eval()
    levels = list(levels or compress.get(method).default_levels)
    path = tmp_path / f"{method}.npz"
    training = fine_tune_set(images, 4) if compress.get(method).needs_training else None
    sweep(model, images, levels, method, path, device="cpu", calibration=images, costs=QUICK, training=training)
    side = read_sidecar(path)["costs"]
    return [side[repr(float(r))] for r in levels]


# int8 dynamic quantizes only the Linear head; on the tiny net (a 16x3 head) its packing overhead
# outweighs the saving, so its monotonicity is checked on the small net, whose head is 128x4.
CASES = [(m, "small" if m == "int8_dynamic" else "tiny") for m in compress.METHODS]


@pytest.mark.parametrize(("method", "arch"), CASES)
def test_every_level_axis_is_monotone_in_cost(method, arch, tmp_path):
    levels = [0.0, 0.25, 0.5, 0.75] if method == "nm" else None
    costs = costs_of(method, arch, tmp_path, levels)
    nonzeros = [c["nonzeros"] for c in costs]
    sizes = [c["file_bytes"] for c in costs]
    assert nonzeros == sorted(nonzeros, reverse=True), nonzeros
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0], sizes
    assert all(c["latency_ms_b1"] > 0 and c["latency_ms_b2"] > 0 and c["device"] == "cpu" for c in costs)


@pytest.mark.parametrize("arch", ["tiny", "small"])
def test_structured_pruning_really_shrinks_the_parameter_count_and_the_file(arch, tmp_path):
    costs = costs_of("structured", arch, tmp_path, [0.0, 0.5])
    assert costs[1]["params"] < 0.6 * costs[0]["params"]
    assert costs[1]["file_bytes"] < costs[0]["file_bytes"]


def test_unstructured_pruning_keeps_the_parameter_count_and_loses_non_zeros(tmp_path):
    dense, half = costs_of("l1", "tiny", tmp_path, [0.0, 0.5])
    assert half["params"] == dense["params"]
    assert half["nonzeros"] < 0.55 * dense["params"]


def test_an_int8_static_file_is_about_four_times_smaller(tmp_path):
    # 32 px: at 16 px (a 1x1 last stage) the x86 int8 kernels refuse the small net ("required rank 4").
    images = np.random.default_rng(2).integers(0, 256, (6, 32, 32), dtype=np.uint8)
    dense, int8 = costs_of("int8_static", "small", tmp_path, images=images)
    assert 3.3 < dense["file_bytes"] / int8["file_bytes"] < 4.2


def test_sixteen_bit_weights_halve_the_file(tmp_path):
    dense, half = costs_of("bf16", "small", tmp_path)
    assert dense["file_bytes"] / half["file_bytes"] == pytest.approx(2.0, rel=0.03)
