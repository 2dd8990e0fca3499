"""Structured channel pruning with dependency handling (torch-pruning's DepGraph).

DepGraph finds the groups of layers whose channels must go together (a conv's output channels,
its BatchNorm, the next conv's input channels, and every block joined to them by a residual add).
Each group's channels are ranked ONCE by the L1 norm of all their weights in the dense model; level
``r`` removes the ``round(r * n)`` lowest-ranked channels of every group (at least one is kept). The
classifier's outputs are never removed. The network really gets smaller: fewer parameters, a
smaller file and less compute.

Levels are nested: going up, the same graph is pruned further (one trace per sweep instead of a
fresh copy, trace and prune per level); going down rebuilds from the dense model.

The demo's ``SmallNet`` (zero-padded skips, which torch-pruning cannot trace) is pruned by the
dependency-aware code in ``structured_smallnet``, with the same level semantics.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..nets import SmallNet, prunable_modules
from .base import Compressor
from .errors import MethodError
from .structured_smallnet import SmallNetChannels


class _Group:
    def __init__(self, root: nn.Module, handler, order: list[int]) -> None:
        self.root, self.handler = root, handler
        self.order = order  # original channel ids, least important first
        self.n = len(order)
        self.alive = list(range(self.n))  # original ids of the channels present, in current order


class StructuredChannels(Compressor):
    name = "structured"  # its registry entry

    def __init__(self, model: nn.Module, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self.dense = model
        self.net: nn.Module | None = None
        self.level = 0.0
        self.smallnet = None
        if isinstance(model, SmallNet):
            self.smallnet = SmallNetChannels(model)
            return
        self._start()  # fail at once when the architecture cannot be traced

    def _start(self) -> None:
        import torch_pruning as tp

        net = copy.deepcopy(self.dense).eval()
        head = prunable_modules(net)[-1][1]
        importance = tp.importance.GroupMagnitudeImportance(p=1)
        # DepGraph traces through autograd, and apply() runs under no_grad.
        try:
            with torch.enable_grad():
                graph = tp.DependencyGraph().build_dependency(net, example_inputs=self.example)
            groups = []
            for group in graph.get_all_groups(ignored_layers=[head], root_module_types=(nn.Conv2d, nn.Linear)):
                scores = importance(group)
                order = torch.sort(scores.float().cpu(), stable=True).indices.tolist()
                groups.append(_Group(group[0].dep.target.module, group[0].dep.handler, order))
        except (IndexError, RuntimeError, ValueError, KeyError) as exc:
            name = type(self.dense).__name__
            raise MethodError(
                f"structured: torch-pruning cannot resolve the channel dependencies of {name}: {exc}"
            ) from exc
        self.net, self.graph, self.groups, self.level = net, graph, groups, 0.0

    @torch.no_grad()
    def apply(self, model: nn.Module, level: float) -> nn.Module:
        if level == 0:
            return model
        if self.smallnet is not None:
            return self.smallnet.prune(level).to(self.example.device)
        if level < self.level:
            self._start()
        for g in self.groups:
            k = min(round(level * g.n), g.n - 1)
            gone = set(g.order[:k]) & set(g.alive)
            if not gone:
                continue
            idxs = [i for i, c in enumerate(g.alive) if c in gone]
            self.graph.get_pruning_group(g.root, g.handler, idxs).prune()
            g.alive = [c for c in g.alive if c not in gone]
        self.level = level
        try:
            self.net(self.example)
        except RuntimeError as exc:
            raise MethodError(f"structured: the pruned {type(self.dense).__name__} does not run: {exc}") from exc
        return self.net
