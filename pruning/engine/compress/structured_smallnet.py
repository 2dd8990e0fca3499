"""Dependency-aware channel pruning of the demo's ``SmallNet``, which torch-pruning cannot trace.

In SmallNet, channel c of a stage's stream is tied to channel c of every later stage: the stage entry
adds the previous stream average-pooled and zero-padded to the new width, and each residual conv adds to
the stream. So channel c is born at the first stage wider than c and lives to the head. Removing it
removes, at every stage from its birth on, output c of the stride-2 conv, of the residual conv and of
their BatchNorms, input c of the residual conv, of the next stage's conv and of the classifier, and its
skip. The coupled groups are the channels born at each stage; level r removes round(r * n) of each
group's channels (at least one stays), ranked once by the L1 norm of all their weights in the dense model.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..nets import SmallNet


def _conv(conv: nn.Conv2d, out_idx: torch.Tensor, in_idx: torch.Tensor) -> nn.Conv2d:
    new = nn.Conv2d(len(in_idx), len(out_idx), conv.kernel_size, conv.stride, conv.padding, bias=conv.bias is not None)
    new.weight.data = conv.weight.data[out_idx][:, in_idx].clone()
    if conv.bias is not None:
        new.bias.data = conv.bias.data[out_idx].clone()
    return new


def _bn(bn: nn.BatchNorm2d, idx: torch.Tensor) -> nn.BatchNorm2d:
    new = copy.deepcopy(bn)
    new.num_features = len(idx)
    new.weight.data, new.bias.data = bn.weight.data[idx].clone(), bn.bias.data[idx].clone()
    new.running_mean, new.running_var = bn.running_mean[idx].clone(), bn.running_var[idx].clone()
    return new


class PrunedSmallNet(nn.Module):
    """SmallNet with only the ``kept[k]`` channels (original ids, sorted) of each stage's stream."""

    def __init__(self, dense: SmallNet, kept: list[torch.Tensor]) -> None:
        super().__init__()
        self.down, self.res = nn.ModuleList(), nn.ModuleList()
        prev = torch.arange(3)  # the image's channels
        for k, keep in enumerate(kept):
            down, res = dense.down[k], dense.res[k]
            self.down.append(nn.Sequential(_conv(down[0], keep, prev), _bn(down[1], keep)))
            self.res.append(nn.Sequential(_conv(res[0], keep, keep), _bn(res[1], keep)))
            # Skip: previous channel c lands where c sits in this stage's kept list (if kept here).
            pos = {int(c): i for i, c in enumerate(keep)}
            src = [j for j, c in enumerate(prev.tolist()) if c in pos]
            self.register_buffer(f"src{k}", torch.tensor(src, dtype=torch.long))
            self.register_buffer(f"dst{k}", torch.tensor([pos[int(prev[j])] for j in src], dtype=torch.long))
            prev = keep
        self.fc = nn.Linear(len(prev), dense.fc.out_features)
        self.fc.weight.data = dense.fc.weight.data[:, prev].clone()
        self.fc.bias.data = dense.fc.bias.data.clone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for k, (down, res) in enumerate(zip(self.down, self.res, strict=True)):
            pooled = nn.functional.avg_pool2d(x, 2, ceil_mode=True)
            y = down(x)
            skip = torch.zeros_like(y)
            skip[:, getattr(self, f"dst{k}")] = pooled[:, getattr(self, f"src{k}")]
            x = torch.relu(y + skip)
            x = torch.relu(x + res(x))
        return self.fc(x.mean((2, 3)))


class SmallNetChannels:
    """Ranks SmallNet's channels once; ``prune(level)`` builds the smaller network for a level."""

    def __init__(self, model: SmallNet) -> None:
        self.dense = model
        widths = list(model.widths)
        last = len(widths) - 1
        score = torch.zeros(widths[-1])
        with torch.no_grad():
            for k in range(len(widths)):
                w = widths[k]
                score[:w] += model.down[k][0].weight.abs().sum((1, 2, 3)) + model.res[k][0].weight.abs().sum((1, 2, 3))
                score[:w] += model.res[k][0].weight.abs().sum((0, 2, 3))
                nxt = model.down[k + 1][0].weight if k < last else model.fc.weight.unsqueeze(-1).unsqueeze(-1)
                score[:w] += nxt.abs().sum((0, 2, 3))
        starts = [0, *widths[:-1]]
        # Each group: the channels born at a stage, least important first (ties by channel id).
        self.groups = []
        for lo, hi in zip(starts, widths, strict=True):
            ids = torch.arange(lo, hi)
            self.groups.append(ids[torch.sort(score[lo:hi], stable=True).indices])
        self.widths = widths

    def prune(self, level: float) -> PrunedSmallNet:
        gone = set()
        for g in self.groups:
            k = min(round(level * len(g)), len(g) - 1)
            gone.update(g[:k].tolist())
        kept = [torch.tensor([c for c in range(w) if c not in gone], dtype=torch.long) for w in self.widths]
        return PrunedSmallNet(self.dense, kept).eval()
