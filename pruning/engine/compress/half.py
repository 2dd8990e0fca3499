"""16-bit weights: every floating parameter and buffer rounded to fp16 or bf16 and saved in it
(half the bytes). On CPU the network still computes in float32 with the rounded values (CPU has no
fast fp16 convolution), so the predictions show what the rounding costs; latency does not change."""

from __future__ import annotations

import copy

import torch
from torch import nn

from .base import Compressor


class Fp16Weights(Compressor):
    name = "fp16"  # its registry entry
    dtype = torch.float16

    def __init__(self, model: nn.Module, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self.net = copy.deepcopy(model).eval()
        with torch.no_grad():
            for t in [*self.net.parameters(), *self.net.buffers()]:
                if t.is_floating_point():
                    t.copy_(t.to(self.dtype).to(t.dtype))

    def apply(self, model: nn.Module, level: float) -> nn.Module:
        return model if level == 0 else self.net

    def storage(self, net: nn.Module) -> dict:
        if net is not self.net:
            return net.state_dict()
        return {k: v.to(self.dtype) if v.is_floating_point() else v for k, v in net.state_dict().items()}


class Bf16Weights(Fp16Weights):
    name = "bf16"  # its registry entry
    dtype = torch.bfloat16
