"""N:M semi-structured sparsity (M = 4): in every group of 4 consecutive input-channel weights
(Conv2d: for each output channel and kernel position; Linear: for each output) keep the N largest
|w| (ties by position), N = 4 * (1 - level); level 0.5 is the 2:4 pattern sparse tensor cores run.

The layer that reads the image (the first Conv2d, 3 input channels) stays dense, as in NVIDIA's
ASP recipe: 3 channels cannot form groups of 4. Any other layer whose input size is not a multiple
of 4 fails at once, naming the layer, before any prediction is made.
"""

from __future__ import annotations

import torch
from torch import nn

from ..nets import prunable_modules
from .base import Compressor, sparse_storage
from .errors import MethodError

M = 4


def _grouped(w: torch.Tensor) -> torch.Tensor:
    """[O, I, kh, kw] -> [O * kh * kw * I/M, M] (groups along input channels); Linear [O, I] alike."""
    if w.ndim == 4:
        w = w.permute(0, 2, 3, 1)
    return w.reshape(-1, M)


def _ungrouped(g: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    if len(shape) == 4:
        o, i, kh, kw = shape
        return g.reshape(o, kh, kw, i).permute(0, 3, 1, 2)
    return g.reshape(shape)


def eligible_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers N:M applies to; MethodError naming the first that cannot be grouped."""
    layers = prunable_modules(model)
    out = []
    for j, (name, m) in enumerate(layers):
        fan_in = m.in_channels // m.groups if isinstance(m, nn.Conv2d) else m.in_features
        if j == 0 and isinstance(m, nn.Conv2d) and m.in_channels <= 3:
            continue  # the image stem stays dense (see the module docstring)
        if fan_in % M:
            raise MethodError(f"nm: layer {name!r} has {fan_in} input channels, not a multiple of {M}")
        out.append((name, m))
    return out


class NMSparsity(Compressor):
    name = "nm"  # its registry entry

    def __init__(self, model: nn.Module, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self.names = [name for name, _ in eligible_layers(model)]
        self.dense = {name: m.weight.detach().clone() for name, m in eligible_layers(model)}
        # Position of each weight within its group by descending |w| (stable: ties by position).
        self.place = {}
        for name, w in self.dense.items():
            order = torch.sort(-_grouped(w).abs(), dim=1, stable=True).indices
            self.place[name] = torch.argsort(order, dim=1)
        self.n_weights = sum(w.numel() for w in self.dense.values())

    @torch.no_grad()
    def apply(self, model: nn.Module, level: float) -> nn.Module:
        keep_n = round(M * (1 - level))
        layers = dict(prunable_modules(model))
        for name in self.names:
            w = self.dense[name]
            g = torch.where(self.place[name] < keep_n, _grouped(w), torch.zeros((), dtype=w.dtype, device=w.device))
            layers[name].weight.copy_(_ungrouped(g, w.shape))
        return model

    def restore(self, model: nn.Module) -> None:
        self.apply(model, 0.0)

    def storage(self, net: nn.Module) -> dict:
        return sparse_storage(net)
