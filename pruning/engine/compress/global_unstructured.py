"""Global unstructured pruning (the paper's method, and its random control): ``prune.PruneOrder``
behind the Compressor interface, so the results stay bit-identical to the pre-registry sweep."""

from __future__ import annotations

from torch import nn

from .. import prune
from .base import Compressor, sparse_storage


class GlobalL1(Compressor):
    name = "l1"  # its registry entry
    score = "l1"

    def __init__(self, model: nn.Module, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self.order = prune.PruneOrder.from_model(model, self.score, self.seed)  # sorted once per sweep
        self.n_weights = self.order.n
        self.n_masked = 0

    def apply(self, model: nn.Module, level: float) -> nn.Module:
        self.n_masked = self.order.apply(model, level)
        return model

    def restore(self, model: nn.Module) -> None:
        self.order.restore(model)

    def storage(self, net: nn.Module) -> dict:
        return sparse_storage(net)

    def achieved(self, net: nn.Module) -> dict:
        return {"n_masked": self.n_masked, **prune.achieved_sparsity(net)}


class GlobalRandom(GlobalL1):
    name = "random"  # its registry entry
    score = "random"
