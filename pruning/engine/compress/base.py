"""What every compression method implements (see ``compress/__init__.py`` for the registry)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..nets import prunable_modules
from ..prune import achieved_sparsity


class Compressor:
    """Compresses one dense model to any level of its method's axis.

    ``apply(model, level)`` returns the network to predict with at ``level`` (the dense ``model``
    itself, with weights changed in place, or a new, smaller or quantized module); ``restore``
    puts the dense weights back. Built once per sweep, so work shared by every level (a sort, a
    dependency graph, a calibration) is done once.
    """

    name: str  # its entry in the registry (compress/__init__.py)

    def __init__(
        self,
        model: nn.Module,
        *,
        seed: int = 0,
        calibration: torch.Tensor | None = None,
        example: torch.Tensor,
        params: dict | None = None,
        training=None,
        scratch=None,
    ) -> None:
        self.seed = seed
        self.example = example  # one float model input [1, 3, S, S] (for tracing)
        self.calibration = calibration  # float model inputs [B, 3, S, S] (static quantization)
        self.params = params or {}  # the method's parameters, validated (MethodSpec.validate_params)
        self.training = training  # train.TrainingSet, for methods that fine-tune
        self.scratch = scratch  # a folder of the sweep's own, for state a resumed sweep reloads

    def apply(self, model: nn.Module, level: float) -> nn.Module:
        raise NotImplementedError

    def restore(self, model: nn.Module) -> None:
        """Default: methods that never touch ``model`` have nothing to restore."""

    def storage(self, net: nn.Module) -> dict:
        """What a deployment would save for ``net`` (``torch.save`` of it is the file size cost)."""
        return net.state_dict()

    def achieved(self, net: nn.Module) -> dict:
        """Per-layer and overall fraction of exactly-zero weights (for the sidecar)."""
        return achieved_sparsity(net)


def sparse_storage(net: nn.Module) -> dict:
    """The state dict with every Conv2d/Linear weight as its non-zero values + a packed bit mask:
    the format in which unstructured and N:M sparsity really make the file smaller."""
    state = dict(net.state_dict())
    for name, _ in prunable_modules(net):
        w = state.pop(f"{name}.weight").detach().cpu()
        keep = w != 0
        state[f"{name}.weight.values"] = w[keep].clone()
        state[f"{name}.weight.mask"] = torch.from_numpy(np.packbits(keep.numpy().reshape(-1)))
        state[f"{name}.weight.shape"] = torch.tensor(list(w.shape))
    return state
