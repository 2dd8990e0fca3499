"""Post-training int8 quantization with torch.ao (x86 backend: fbgemm + oneDNN kernels on CPU).

* static: FX graph mode; observers are calibrated ONCE per sweep on training images, weights
  int8 per channel, activations uint8 per tensor; every Conv2d/Linear/add runs as an int8 kernel;
* dynamic: only Linear layers get int8 weights (activations quantized on the fly); torch has no
  dynamic kernel for Conv2d, so a CNN keeps its convolutions in float32 (that is its real reach).

Level 0.75 (= 8 of 32 bits) is the int8 model, level 0 the dense one. An op with no int8 kernel
fails when the quantized model is built, before any prediction, naming the op.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .base import Compressor
from .errors import MethodError

ENGINE = "x86"


def _check_runs(net: nn.Module, example: torch.Tensor, method: str) -> None:
    try:
        with torch.inference_mode():
            net(example)
    except (NotImplementedError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise MethodError(f"{method}: the quantized model cannot run on the {ENGINE} CPU backend: {first}") from exc


class Int8Static(Compressor):
    name = "int8_static"  # its registry entry

    def __init__(self, model: nn.Module, **kwargs) -> None:
        super().__init__(model, **kwargs)
        from torch.ao.quantization import get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

        torch.backends.quantized.engine = ENGINE
        example = self.example.cpu()
        net = copy.deepcopy(model).cpu().eval()
        try:
            prepared = prepare_fx(net, get_default_qconfig_mapping(ENGINE), example_inputs=(example,))
        except Exception as exc:  # FX tracing raises many types; the user needs the message
            raise MethodError(f"int8_static: cannot trace the model for quantization: {exc}") from exc
        with torch.inference_mode():
            for batch in self.calibration.split(64):
                prepared(batch)
        self.net = convert_fx(prepared)
        _check_runs(self.net, example, "int8_static")

    def apply(self, model: nn.Module, level: float) -> nn.Module:
        return model if level == 0 else self.net


class Int8Dynamic(Compressor):
    name = "int8_dynamic"  # its registry entry

    def __init__(self, model: nn.Module, **kwargs) -> None:
        super().__init__(model, **kwargs)
        from torch.ao.quantization import quantize_dynamic

        torch.backends.quantized.engine = ENGINE
        net = copy.deepcopy(model).cpu().eval()
        self.net = quantize_dynamic(net, {nn.Linear}, dtype=torch.qint8)
        _check_runs(self.net, self.example.cpu(), "int8_dynamic")

    def apply(self, model: nn.Module, level: float) -> nn.Module:
        return model if level == 0 else self.net
