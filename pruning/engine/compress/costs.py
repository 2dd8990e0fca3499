"""What one compression level costs, measured on the network that really runs.

* ``params``: elements of every tensor in the state dict (packed int8 weights count once each);
* ``nonzeros``: those that are not exactly zero (int8 tensors: non-zero integer codes);
* ``file_bytes``: ``torch.save`` of the method's storage format (``Compressor.storage``): a dense
  state dict, or values + bit mask for unstructured and N:M sparsity, int8 packed weights for int8;
* ``latency_ms_b1`` / ``latency_ms_b64``: median wall time of ``repeats`` forward passes (after
  one warm-up) at batch 1 and 64 on the sweep's device (``device`` says which).
"""

from __future__ import annotations

import io
import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class CostConfig:
    repeats: int = 5
    batches: tuple[int, ...] = (1, 64)


def _elements(state: dict) -> tuple[int, int]:
    params = nonzeros = 0
    for value in state.values():
        if not isinstance(value, torch.Tensor) or not value.is_floating_point() and not value.is_quantized:
            continue  # integer buffers (BatchNorm's num_batches_tracked, masks, shapes) are not weights
        t = value.int_repr() if value.is_quantized else value
        params += t.numel()
        nonzeros += int(torch.count_nonzero(t))
    return params, nonzeros


def _packed_weights(net: nn.Module) -> dict:
    """Quantized modules keep their weights packed (not in ``state_dict`` values as tensors)."""
    out = {}
    for name, m in net.named_modules():
        if hasattr(m, "weight") and callable(m.weight) and name:
            try:
                out[f"{name}.weight"] = m.weight()
            except (RuntimeError, TypeError):
                continue
    return out


def file_bytes(storage: dict) -> int:
    buf = io.BytesIO()
    torch.save(storage, buf)
    return buf.getbuffer().nbytes


@torch.inference_mode()
def latency_ms(net: nn.Module, example: torch.Tensor, batch: int, repeats: int) -> float:
    x = example[:1].expand(batch, *example.shape[1:]).contiguous()
    sync = torch.cuda.synchronize if x.device.type == "cuda" else (lambda: None)
    net(x)  # warm-up: lazy kernel selection and allocation are not the steady state
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        net(x)
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def measure(net: nn.Module, storage: dict, example: torch.Tensor, config: CostConfig) -> dict:
    """The costs above for ``net`` (in eval mode) on ``example``'s device."""
    state = {**dict(net.state_dict()), **_packed_weights(net)}
    params, nonzeros = _elements(state)
    out = {"params": params, "nonzeros": nonzeros, "file_bytes": file_bytes(storage), "device": example.device.type}
    net.eval()
    for b in config.batches:
        out[f"latency_ms_b{b}"] = latency_ms(net, example, b, config.repeats)
    return out
