"""Compression methods as plug-ins: one module per method, one registry entry each.

Every method has an ordered level axis in [0, 1): 0 is the dense float32 model and a larger level
is more compression, so the prediction store, forgettability, PIE selection and the reports (which
all read "sparsity" as that axis) work for every method unchanged. What a level means is the
method's ``unit``: the fraction of weights zeroed (unstructured, N:M), of channels removed
(structured), or of weight bits removed (quantization: fp16/bf16 = 0.5, int8 = 0.75).

This module is torch-free (the web process validates forms with it); each entry's ``load``
imports its implementation lazily. To add a method: write ``compress/<name>.py`` with a
``Compressor`` subclass and add one ``MethodSpec`` below.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from common.sparsity import same_sparsity, swept

from .errors import MethodError


@dataclass(frozen=True)
class MethodSpec:
    name: str
    label: str
    unit: str  # what a level means
    default_levels: tuple[float, ...]
    heavy_level: float  # the level PIEs compare with the dense model
    load: Callable[[], type]  # -> the Compressor class (lazy: imports torch)
    allowed_levels: tuple[float, ...] | None = None  # None: any level in [0, 1)
    needs_calibration: bool = False  # wants training images (static quantization)
    cpu_only: bool = False  # its compressed model runs on CPU kernels only
    axis: str = "level"  # the word for a level in messages ("sparsity" for weight pruning)
    family: str = "pruning"  # or "quantization" (the cross-method report compares the two)
    needs_training: bool = False  # fine-tunes on the training set (iterative magnitude pruning)
    sequential: bool = False  # each level is built from the previous one: levels must increase
    params: tuple[tuple[str, object], ...] = ()  # (name, default) of the method's parameters

    def validate_levels(self, levels) -> list[float]:
        """The levels as floats in the order given, or MethodError naming the bad one."""
        values = []
        for v in levels:
            try:
                r = float(v)
            except (TypeError, ValueError):
                raise MethodError(f"{self.name}: {self.axis} {v!r} is not a number") from None
            if not math.isfinite(r) or not 0.0 <= r < 1.0:
                raise MethodError(f"{self.name}: {self.axis} {v!r} is outside [0, 1)")
            if self.allowed_levels is not None and not swept(self.allowed_levels, r):
                allowed = ", ".join(f"{a:g}" for a in self.allowed_levels)
                raise MethodError(f"{self.name}: {self.axis} {r:g} is not one of its levels ({allowed}; {self.unit})")
            if any(same_sparsity(r, u) for u in values):
                raise MethodError(f"{self.name}: {self.axis} {r:g} given twice")
            if self.sequential and values and r < values[-1]:
                raise MethodError(
                    f"{self.name}: {self.axis} levels must increase (each is pruned from the previous one); "
                    f"{r:g} comes after {values[-1]:g}"
                )
            values.append(r)
        if not values:
            raise MethodError(f"{self.name}: no levels given")
        return values

    def validate_params(self, given: dict | None) -> dict:
        """The method's parameters with defaults filled in, or MethodError naming the bad field.
        A whole-number parameter is in 0..100; a yes/no one takes a bool (or true/false, yes/no, 1/0)."""
        given = dict(given or {})
        defaults = dict(self.params)
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            valid = ", ".join(defaults) or "none"
            raise MethodError(f"{self.name}: unknown parameter {unknown[0]!r} (its parameters: {valid})")
        return {key: _param_value(self.name, key, given.get(key, default), default) for key, default in self.params}


_YES, _NO = ("true", "yes", "1"), ("false", "no", "0")


def _param_value(method: str, key: str, value, default):
    if isinstance(default, bool):
        text = str(value).strip().lower()
        if isinstance(value, bool) or text in _YES + _NO:
            return value if isinstance(value, bool) else text in _YES
        raise MethodError(f"{method}: {key} must be true or false, got {value!r}")
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not 0 <= number <= 100:
        raise MethodError(f"{method}: {key} must be a whole number from 0 to 100, got {value!r}")
    return number


def _global():
    from .global_unstructured import GlobalL1

    return GlobalL1


def _random():
    from .global_unstructured import GlobalRandom

    return GlobalRandom


def _layerwise():
    from .layerwise import LayerwiseL1

    return LayerwiseL1


def _nm():
    from .nm import NMSparsity

    return NMSparsity


def _structured():
    from .structured import StructuredChannels

    return StructuredChannels


def _int8_dynamic():
    from .quant_int8 import Int8Dynamic

    return Int8Dynamic


def _int8_static():
    from .quant_int8 import Int8Static

    return Int8Static


def _imp():
    from .imp import IterativeMagnitude

    return IterativeMagnitude


def _fp16():
    from .half import Fp16Weights

    return Fp16Weights


def _bf16():
    from .half import Bf16Weights

    return Bf16Weights


PAPER_LEVELS = tuple(round(0.05 * i, 2) for i in range(20))  # 0, 0.05, ..., 0.95
_WEIGHTS = "fraction of Conv2d/Linear weights zeroed"
_S = "sparsity"
_Q = "quantization"
_BITS = "fraction of weight bits removed (32-bit = 0)"

REGISTRY: dict[str, MethodSpec] = {
    s.name: s
    for s in (
        MethodSpec("l1", "Global unstructured L1 magnitude (paper)", _WEIGHTS, PAPER_LEVELS, 0.9, _global, axis=_S),
        MethodSpec("random", "Global unstructured random", _WEIGHTS, PAPER_LEVELS, 0.9, _random, axis=_S),
        MethodSpec(
            "layer_l1", "Layer-wise unstructured L1 magnitude", _WEIGHTS, PAPER_LEVELS, 0.9, _layerwise, axis=_S
        ),
        MethodSpec(
            "imp",
            "Iterative L1 magnitude pruning, fine-tuned between levels",
            _WEIGHTS,
            (0.0, 0.2, 0.4, 0.6, 0.8, 0.9),
            0.9,
            _imp,
            axis=_S,
            needs_training=True,
            sequential=True,
            params=(("finetune_epochs", 1), ("rewind", False)),
        ),
        MethodSpec(
            "nm",
            "N:M semi-structured (M=4; 0.5 = 2:4)",
            _WEIGHTS,
            (0.0, 0.5),
            0.5,
            _nm,
            (0.0, 0.25, 0.5, 0.75),
            axis=_S,
        ),
        MethodSpec(
            "structured",
            "Structured channel pruning (L1, DepGraph)",
            "fraction of channels removed per coupled group",
            (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
            0.5,
            _structured,
        ),
        MethodSpec(
            "int8_dynamic",
            "int8 dynamic quantization (Linear)",
            _BITS,
            (0.0, 0.75),
            0.75,
            _int8_dynamic,
            (0.0, 0.75),
            cpu_only=True,
            family=_Q,
        ),
        MethodSpec(
            "int8_static",
            "int8 static quantization (x86, calibrated)",
            _BITS,
            (0.0, 0.75),
            0.75,
            _int8_static,
            (0.0, 0.75),
            needs_calibration=True,
            cpu_only=True,
            family=_Q,
        ),
        MethodSpec("fp16", "fp16 weights", _BITS, (0.0, 0.5), 0.5, _fp16, (0.0, 0.5), family=_Q),
        MethodSpec("bf16", "bf16 weights", _BITS, (0.0, 0.5), 0.5, _bf16, (0.0, 0.5), family=_Q),
    )
}
METHODS = tuple(REGISTRY)


def get(name: str) -> MethodSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise MethodError(f"unknown compression method {name!r}; valid: {', '.join(METHODS)}") from None
