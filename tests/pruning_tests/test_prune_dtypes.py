"""Known answers for pruning orders of float64, half and other-device models (issue 18)."""

import torch
from torch import nn

from pruning.engine.prune import PruneOrder


def linear_model(weights, dtype=torch.float32):
    """One bias-free Linear layer holding ``weights`` (its flat order is the order given)."""
    model = nn.Sequential(nn.Linear(len(weights), 1, bias=False)).to(dtype)
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([weights], dtype=dtype))
    return model


def five_weights(dtype=torch.float32):
    """|w| = 0.5 0.1 0.3 | 0.1 0.3 over two layers: pruning order flat 1, 3, 2, 4, 0."""
    model = nn.Sequential(nn.Linear(3, 1, bias=False), nn.Linear(1, 2, bias=False)).to(dtype)
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.5, -0.1, 0.3]], dtype=dtype))
        model[1].weight.copy_(torch.tensor([[0.1], [-0.3]], dtype=dtype))
    return model


def test_a_float64_model_prunes_the_smaller_of_two_weights_that_differ_below_float32_precision():
    model = linear_model([1 + 1e-12, 1.0], torch.float64)
    order = PruneOrder.from_model(model)
    assert order.rank.tolist() == [1, 0]
    assert order.apply(model, 0.5) == 1
    assert model[0].weight.flatten().tolist() == [1 + 1e-12, 0.0]


def test_float64_ties_still_break_by_flat_index():
    # 40 equal magnitudes after 5 larger ones: an unstable sort would scramble the tied block.
    weights = [0.3] * 5 + [-0.1, 0.1] * 20
    order = PruneOrder.from_model(linear_model(weights, torch.float64))
    assert order.rank.tolist() == list(range(40, 45)) + list(range(40))


def test_a_float32_model_keeps_the_float32_key_order_with_ties_by_flat_index():
    weights = [0.3] * 5 + [-0.1, 0.1] * 20
    order = PruneOrder.from_model(linear_model(weights))
    assert order.rank.dtype == torch.int32
    assert order.rank.tolist() == list(range(40, 45)) + list(range(40))


def test_an_order_from_a_float32_model_prunes_a_float64_copy_and_keeps_its_dtype():
    order = PruneOrder.from_model(five_weights())
    model = five_weights(torch.float64)
    assert order.apply(model, 0.4) == 2
    assert [m.weight.dtype for m in model] == [torch.float64, torch.float64]
    assert model[0].weight.flatten().tolist() == [0.5, 0.0, 0.30000001192092896]  # float32 0.3, widened
    model(torch.ones(1, 3, dtype=torch.float64))  # still runs in float64


def test_an_order_from_a_float32_model_prunes_a_half_copy_and_keeps_its_dtype():
    order = PruneOrder.from_model(five_weights())
    model = five_weights(torch.float16)
    order.apply(model, 0.6)
    assert [m.weight.dtype for m in model] == [torch.float16, torch.float16]
    assert model[1].weight.flatten().tolist() == [0.0, -0.300048828125]  # float32 -0.3 rounded to half


def test_a_model_on_another_device_keeps_its_weights_there():
    order = PruneOrder.from_model(five_weights())  # the order lives on the CPU
    model = five_weights().to("meta")  # any other device: the CPU buffer must not be bound to it
    assert order.apply(model, 0.4) == 2
    assert [m.weight.device.type for m in model] == ["meta", "meta"]


def test_on_cpu_the_first_model_s_weights_become_consecutive_views_of_one_buffer():
    model = five_weights()
    order = PruneOrder.from_model(model)
    order.apply(model, 0.4)
    first, second = model[0].weight, model[1].weight
    assert second.data_ptr() == first.data_ptr() + 3 * first.element_size()
    order.apply(model, 0.6)  # recognised as bound: the weights stay where they are
    assert model[0].weight.data_ptr() == first.data_ptr()
    assert model[0].weight.flatten().tolist() == [0.5, 0.0, 0.0]


def test_an_order_built_from_a_model_on_another_device_lives_on_that_device():
    model = five_weights().to("meta")  # no data: only where the tensors live can be checked
    for method in ("l1", "random"):
        order = PruneOrder.from_model(model, method)
        assert (order.rank.device.type, order.dense_flat.device.type) == ("meta", "meta")


def test_ranks_are_int32_below_2_to_the_31_weights_and_int64_from_there():
    assert PruneOrder.from_model(tiny_conv_net()).rank.dtype == torch.int32  # thousands of weights
    # A meta model holds exactly 2**31 weights without memory; its ranks no longer fit in int32. Every
    # tensor made here defaults to meta too: code that put one on the CPU would allocate 16 GB (the test
    # above checks devices on a small model).
    with torch.device("meta"):
        huge = nn.Sequential(nn.Linear(2**16, 2**15, bias=False))
        order = PruneOrder.from_model(huge)
    assert order.n == 2**31 and order.rank.dtype == torch.int64


def tiny_conv_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.Conv2d(8, 8, 3), nn.Flatten(), nn.Linear(8 * 4 * 4, 3))
