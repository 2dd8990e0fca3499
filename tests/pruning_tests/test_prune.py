import math

import pytest
import torch
import torch.nn.utils.prune as torch_prune
from torch import nn

from pruning.engine.nets import build_model, prunable_modules
from pruning.engine.prune import (
    METHODS,
    PruneOrder,
    achieved_sparsity,
    n_pruned,
    validate_sparsities,
    validate_sparsity,
)

SPARSITIES = [round(0.05 * i, 2) for i in range(20)]


def tiny(seed=0, classes=3):
    torch.manual_seed(seed)
    return build_model("tiny", classes, "random")


def zeros(model):
    return sum(int((m.weight == 0).sum()) for _, m in prunable_modules(model))


def test_l1_zeroes_exactly_round_r_times_n_weights_at_every_sparsity():
    model = tiny()
    order = PruneOrder.from_model(model, "l1")
    n = sum(m.weight.numel() for _, m in prunable_modules(model))
    assert order.n == n
    for r in SPARSITIES:
        assert order.apply(model, r) == round(r * n)
        assert zeros(model) == round(r * n)


def test_masks_are_nested_so_every_weight_pruned_at_a_lower_sparsity_stays_pruned():
    for method in ("l1", "random"):
        order = PruneOrder.from_model(tiny(), method, seed=3)
        previous = None
        for r in SPARSITIES:
            kept = torch.cat([m.flatten() for m in order.mask(r).values()])
            if previous is not None:
                assert not (kept & ~previous).any()
            previous = kept


def test_biases_and_batchnorm_parameters_and_buffers_are_untouched():
    model = tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    order = PruneOrder.from_model(model, "l1")
    order.apply(model, 0.9)
    for key, value in model.state_dict().items():
        if key.endswith(".weight") and key.rsplit(".", 1)[0] in dict(prunable_modules(model)):
            continue
        assert torch.equal(value, before[key]), key
    assert model.features[3].bias is not None and torch.equal(model.features[3].bias, before["features.3.bias"])


def test_l1_prunes_smallest_magnitudes_first_and_breaks_ties_by_flat_index():
    model = nn.Sequential(nn.Linear(3, 1, bias=False), nn.Linear(1, 2, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.5, -0.1, 0.3]]))
        model[1].weight.copy_(torch.tensor([[0.1], [-0.3]]))
    order = PruneOrder.from_model(model, "l1")
    # |w| in flat order: 0.5 0.1 0.3 | 0.1 0.3 -> order: idx1, idx3 (tie 0.1), idx2, idx4 (tie 0.3), idx0
    expected_first_kept = [[True, False, True], [False, True]]
    order.apply(model, 0.4)  # round(0.4 * 5) = 2: both 0.1s, the lower flat index among ties first
    assert [(model[0].weight != 0).flatten().tolist(), (model[1].weight != 0).flatten().tolist()] == expected_first_kept
    order.apply(model, 0.6)  # 3: next is the 0.3 in layer 0 (flat index 2) before the one in layer 1
    assert model[0].weight.flatten().tolist() == [0.5, 0.0, 0.0]
    assert model[1].weight.flatten().tolist() == [0.0, pytest.approx(-0.3)]


def test_random_method_is_seeded_reproducible_and_differs_between_seeds():
    masks = {}
    for seed in (1, 1, 2):
        order = PruneOrder.from_model(tiny(), "random", seed=seed)
        masks.setdefault(seed, []).append(torch.cat([m.flatten() for m in order.mask(0.5).values()]))
    assert torch.equal(masks[1][0], masks[1][1])
    assert not torch.equal(masks[1][0], masks[2][0])


def test_apply_restores_the_dense_weights_before_masking_a_lower_sparsity():
    model = tiny()
    dense = [m.weight.clone() for _, m in prunable_modules(model)]
    order = PruneOrder.from_model(model, "l1")
    order.apply(model, 0.9)
    order.apply(model, 0.1)
    assert zeros(model) == round(0.1 * order.n)
    order.restore(model)
    assert all(torch.equal(m.weight, w) for (_, m), w in zip(prunable_modules(model), dense, strict=True))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (1.0, "sparsity 1.0 is outside"),
        (-0.1, "sparsity -0.1 is outside"),
        (math.nan, "sparsity nan is outside"),
        ("abc", "sparsity 'abc' is not a number"),
        (None, "sparsity None is not a number"),
    ],
)
def test_a_sparsity_outside_zero_to_one_is_rejected_naming_the_value(bad, message):
    with pytest.raises(ValueError, match=message):
        validate_sparsity(bad)


def test_an_unknown_pruning_method_is_rejected():
    with pytest.raises(ValueError, match="unknown pruning method 'l2'"):
        PruneOrder.from_model(tiny(), "l2")


def test_zero_counts_match_torch_global_unstructured_at_every_sparsity():
    for r in SPARSITIES[1:]:
        model = tiny(seed=5)
        order = PruneOrder.from_model(model, "l1")
        order.apply(model, r)
        reference = tiny(seed=5)
        params = [(m, "weight") for _, m in prunable_modules(reference)]
        torch_prune.global_unstructured(params, pruning_method=torch_prune.L1Unstructured, amount=r)
        assert zeros(model) == zeros(reference)
        # Continuous random weights have no ties, so the masks are the same weights too.
        assert all(
            torch.equal(a.weight == 0, b.weight == 0)
            for (_, a), (_, b) in zip(prunable_modules(model), prunable_modules(reference), strict=True)
        )


def test_achieved_sparsity_reports_every_layer_and_the_overall_fraction():
    model = tiny()
    order = PruneOrder.from_model(model, "l1")
    order.apply(model, 0.5)
    got = achieved_sparsity(model)
    assert set(got) == {"features.0.weight", "features.3.weight", "fc.weight", "overall"}
    assert got["overall"] == round(0.5 * order.n) / order.n


def test_pruned_count_rounds_half_to_even_like_torch():
    assert n_pruned(0.5, 5) == 2  # round(2.5) -> 2
    assert n_pruned(0.5, 7) == 4  # round(3.5) -> 4


def test_prune_order_refuses_a_model_of_another_shape():
    order = PruneOrder.from_model(tiny(classes=3), "l1")
    with pytest.raises(ValueError, match="does not match"):
        order.apply(tiny(classes=4), 0.5)


def test_applying_one_order_to_a_second_model_never_makes_the_two_share_weights():
    first, second = tiny(seed=1), tiny(seed=1)
    order = PruneOrder.from_model(first, "l1")
    order.apply(first, 0.5)
    order.apply(second, 0.9)
    assert zeros(first) == round(0.5 * order.n) and zeros(second) == round(0.9 * order.n)
    order.apply(first, 0.2)
    assert zeros(second) == round(0.9 * order.n)


def test_repeated_applies_keep_exact_counts_after_the_weights_were_replaced_from_outside():
    model = tiny()
    order = PruneOrder.from_model(model, "l1")
    order.apply(model, 0.5)
    model.load_state_dict(tiny(seed=9).state_dict())  # copies into the weights: the order still wins
    order.apply(model, 0.3)
    assert zeros(model) == round(0.3 * order.n)
    with torch.no_grad():
        model.fc.weight.data = model.fc.weight.data.clone()  # re-pointed weight: falls back, still exact
    order.apply(model, 0.7)
    assert zeros(model) == round(0.7 * order.n)


# --- Known answers and edges ------------------------------------------------------------------------------


def five_weights():
    """Two bias-free Linear layers, |w| = 0.5 0.1 0.3 | 0.1 0.3: pruning order flat 1, 3, 2, 4, 0."""
    model = nn.Sequential(nn.Linear(3, 1, bias=False), nn.Linear(1, 2, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.5, -0.1, 0.3]]))
        model[1].weight.copy_(torch.tensor([[0.1], [-0.3]]))
    return model


def test_the_methods_are_l1_and_random():
    assert METHODS == ("l1", "random")


def test_masks_keep_exactly_the_weights_after_the_first_k_in_the_order():
    order = PruneOrder.from_model(five_weights())  # default method: l1
    keep = {r: [m.flatten().tolist() for m in order.mask(r).values()] for r in (0.0, 0.2, 0.4, 0.6, 0.8)}
    assert keep[0.0] == [[True, True, True], [True, True]]
    assert keep[0.2] == [[True, False, True], [True, True]]
    assert keep[0.4] == [[True, False, True], [False, True]]
    assert keep[0.6] == [[True, False, False], [False, True]]
    assert keep[0.8] == [[True, False, False], [False, False]]
    assert list(order.mask(0.5)) == ["0.weight", "1.weight"]


def test_random_order_defaults_to_seed_zero():
    a = PruneOrder.from_model(tiny(), "random")
    b = PruneOrder.from_model(tiny(), "random", seed=0)
    assert torch.equal(a.rank, b.rank)
    assert not torch.equal(a.rank, PruneOrder.from_model(tiny(), "random", seed=1).rank)


def test_apply_never_changes_parameter_dtypes_of_a_mixed_precision_model():
    model = five_weights()
    model[1].double()  # one float32 layer, one float64 layer: the flat copy is float64
    order = PruneOrder.from_model(model)
    assert order.apply(model, 0.4) == 2
    assert [m.weight.dtype for m in model] == [torch.float32, torch.float64]
    assert model[0].weight.flatten().tolist() == [0.5, 0.0, pytest.approx(0.3)]
    assert model[1].weight.flatten().tolist() == [0.0, pytest.approx(-0.3)]


def test_validate_sparsities_known_answers_and_refusals():
    assert validate_sparsities(["0.5", 0, 0.25]) == [0.5, 0.0, 0.25]
    with pytest.raises(ValueError, match=r"^no sparsities given$"):
        validate_sparsities([])
    with pytest.raises(ValueError, match=r"^duplicate sparsities in \[0\.1, 0\.5, 0\.1\]$"):
        validate_sparsities([0.1, 0.5, "0.1"])
    with pytest.raises(ValueError, match=r"^sparsity 1\.5 is outside \[0, 1\)$"):
        validate_sparsities([0.1, 1.5])


def test_refusals_name_what_is_wrong():
    with pytest.raises(ValueError, match=r"^unknown pruning method 'l2'; valid: l1, random$"):
        PruneOrder.from_model(tiny(), "l2")
    with pytest.raises(ValueError, match=r"^model has no Conv2d or Linear layer to prune$"):
        PruneOrder.from_model(nn.Sequential(nn.ReLU()))
    order = PruneOrder.from_model(tiny(classes=3))
    with pytest.raises(ValueError, match=r"^model does not match the one this PruneOrder was built from$"):
        order.apply(tiny(classes=4), 0.5)
