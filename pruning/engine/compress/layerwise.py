"""Layer-wise unstructured L1 pruning: every Conv2d/Linear weight loses the same fraction of its own
smallest |w| (ties by flat index), instead of one global threshold. Each layer is sorted once per
sweep, so masks are nested across levels as in the global method."""

from __future__ import annotations

import torch
from torch import nn

from ..nets import prunable_modules
from ..prune import _sort_key_order
from .base import Compressor, sparse_storage


class LayerwiseL1(Compressor):
    name = "layer_l1"  # its registry entry

    def __init__(self, model: nn.Module, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self.dense: list[torch.Tensor] = []
        self.rank: list[torch.Tensor] = []
        for _, m in prunable_modules(model):
            w = m.weight.detach().clone()
            order = _sort_key_order(w.abs().reshape(-1))
            rank = torch.empty_like(order)
            rank[order] = torch.arange(order.numel(), device=order.device)
            self.dense.append(w)
            self.rank.append(rank.view(w.shape))
        self.n_weights = sum(w.numel() for w in self.dense)

    @torch.no_grad()
    def apply(self, model: nn.Module, level: float) -> nn.Module:
        for (_, m), w, rank in zip(prunable_modules(model), self.dense, self.rank, strict=True):
            k = round(level * w.numel())
            m.weight.copy_(torch.where(rank < k, torch.zeros((), dtype=w.dtype, device=w.device), w))
        return model

    def restore(self, model: nn.Module) -> None:
        self.apply(model, 0.0)

    def storage(self, net: nn.Module) -> dict:
        return sparse_storage(net)
