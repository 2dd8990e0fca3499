"""Parsing and checking experiment parameters typed by people (forms, management commands).

Kept free of torch so the web process can validate a form without loading the engine; the
choices mirror ``pruning.engine.nets.ARCHS`` (a test checks); methods come from the torch-free registry
``pruning.engine.compress``.
"""

import math
import re

from common.errors import AppError
from common.sparsity import same_sparsity, swept
from pruning.engine import compress  # torch-free: the registry's entries load their code lazily

ARCHS = ("resnet50", "resnet18", "small", "tiny")
INITS = ("imagenet", "random")  # or a path to a weights file
PRUNE_METHODS = compress.METHODS
PIE_DEFINITIONS = ("spearman", "hooker")
DEFAULT_SPARSITIES = [round(0.05 * i, 2) for i in range(20)]  # 0, 0.05, ..., 0.95 as in the paper
MAX_SEEDS = 1000


class ParamError(AppError):
    """A parameter a person typed is wrong; the message names the offending value."""


def parse_seeds(text: str | list) -> list[int]:
    """ "0-29", "0,1,2", "0-4, 10" or a list of ints -> sorted unique non-negative seeds."""
    if isinstance(text, list | tuple):
        items = [str(s) for s in text]
    else:
        items = [p.strip() for p in str(text).split(",") if p.strip()]
    if not items:
        raise ParamError("no seeds given; use e.g. '0-29' or '0,1,2'")
    seeds: list[int] = []
    for item in items:
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", item)
        if m:
            lo, hi = int(m[1]), int(m[2])
            if hi < lo:
                raise ParamError(f"seed range {item!r} runs backwards; write it as {hi}-{lo}")
            if hi - lo + 1 > MAX_SEEDS:
                raise ParamError(f"seed range {item!r} has more than {MAX_SEEDS} seeds")
            seeds.extend(range(lo, hi + 1))
        elif re.fullmatch(r"\d+", item):
            seeds.append(int(item))
        else:
            raise ParamError(f"seed {item!r} is not a non-negative integer or a range like 0-29")
    dupes = sorted({s for s in seeds if seeds.count(s) > 1})
    if dupes:
        raise ParamError(f"seed(s) {', '.join(map(str, dupes))} given twice")
    if len(seeds) > MAX_SEEDS:
        raise ParamError(f"{len(seeds)} seeds; at most {MAX_SEEDS}")
    return sorted(seeds)


def check_sparsity(value) -> float:
    """One sparsity in [0, 1), or ParamError naming the value."""
    try:
        r = float(value)
    except (TypeError, ValueError):
        raise ParamError(f"sparsity {value!r} is not a number") from None
    if not math.isfinite(r) or not 0.0 <= r < 1.0:
        raise ParamError(f"sparsity {value} is outside [0, 1)")
    return r


def parse_sparsities(text: str | list) -> list[float]:
    """ "0, 0.05, 0.9" or a list -> the sparsities in the order given (duplicates rejected)."""
    items = list(text) if isinstance(text, list | tuple) else [p.strip() for p in str(text).split(",") if p.strip()]
    if not items:
        raise ParamError("no sparsities given")
    values = [check_sparsity(v) for v in items]
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise ParamError(f"sparsity {dupes[0]:g} given twice")
    return values


def check_experiment(
    *,
    seeds: list,
    sparsities: list,
    pie_sparsity: float,
    pie_q: float,
    arch: str,
    init: str,
    prune_method: str,
    compare_methods: list | None = None,
    method_params: dict | None = None,
) -> dict[str, str]:
    """Cross-field checks of an experiment; returns {field: message} (empty when all is well)."""
    errors: dict[str, str] = {}
    try:
        parse_seeds(list(seeds))
    except ParamError as exc:
        errors["seeds"] = str(exc)
    try:
        values = parse_sparsities(list(sparsities))
    except ParamError as exc:
        errors["sparsities"] = str(exc)
        values = []
    if values and not swept(values, 0.0):
        errors["sparsities"] = "sparsities must include 0 (the dense model PIEs are compared with)"
    try:
        check_sparsity(pie_sparsity)
    except ParamError as exc:
        errors["pie_sparsity"] = str(exc)
    else:
        if values and not swept(values, pie_sparsity):
            errors["pie_sparsity"] = f"PIE sparsity {pie_sparsity:g} is not among the sparsities swept"
        elif same_sparsity(pie_sparsity, 0.0):
            errors["pie_sparsity"] = "PIE sparsity must be above 0 (0 is the dense model)"
    if not 0.0 < pie_q <= 1.0:
        errors["pie_q"] = f"PIE fraction q={pie_q:g} must be in (0, 1]"
    if arch not in ARCHS:
        errors["arch"] = f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}"
    elif arch in ("tiny", "small") and init == "imagenet":
        errors["init"] = f"the {arch} net has no ImageNet weights; use 'random' or a weights file"
    if not init:
        errors["init"] = "give an init: imagenet, random or a weights file path"
    if prune_method not in PRUNE_METHODS:
        errors["prune_method"] = f"unknown pruning method {prune_method!r}; choose one of {', '.join(PRUNE_METHODS)}"
    elif values and "sparsities" not in errors:
        try:
            compress.get(prune_method).validate_levels(values)
        except compress.MethodError as exc:
            errors["sparsities"] = str(exc)
    try:
        compared = check_compare(compare_methods or [], prune_method)
    except ParamError as exc:
        errors["compare_methods"] = str(exc)
        compared = []
    try:
        check_method_params(method_params or {}, [prune_method, *(e["method"] for e in compared)])
    except ParamError as exc:
        errors["method_params"] = str(exc)
    return errors


def check_method_params(given: dict, swept_methods: list[str]) -> dict:
    """``{"imp": {"finetune_epochs": 2}}`` checked against the registry: only methods this experiment sweeps,
    each parameter by name (``MethodSpec.validate_params``). Returns it with every default filled in."""
    if not isinstance(given, dict):
        raise ParamError(f"method parameters must be {{method: {{name: value}}}}, got {given!r}")
    out = {}
    for name, values in given.items():
        if name not in swept_methods:
            raise ParamError(f"parameters given for {name!r}, which this experiment does not sweep")
        if not isinstance(values, dict):
            raise ParamError(f"{name}: parameters must be {{name: value}}, got {values!r}")
        try:
            out[name] = compress.get(name).validate_params(values)
        except compress.MethodError as exc:
            raise ParamError(str(exc)) from None
    return out


def parse_method_params(text: str) -> dict:
    """ "imp: finetune_epochs=2, rewind=true" (methods separated by ";") -> {"imp": {...}}, values as typed
    (``check_method_params`` checks and converts them)."""
    out: dict = {}
    for part in (p.strip() for p in str(text).split(";")):
        if not part:
            continue
        name, colon, rest = part.partition(":")
        if not colon:
            raise ParamError(f"method parameters {part!r} must read 'method: name=value, ...'")
        values = {}
        for item in (i.strip() for i in rest.split(",")):
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise ParamError(f"{name.strip()}: parameter {item!r} must read name=value")
            values[key.strip()] = value.strip()
        out[name.strip()] = values
    return out


def check_compare(entries: list, prune_method: str = "") -> list[dict]:
    """``[{"method": m, "levels": [...]}, ...]`` checked against the registry (levels must include 0, the
    dense model, and the method's heavy level, which PIEs use); returns it with levels as floats."""
    out, seen = [], {prune_method}
    for entry in entries:
        if not isinstance(entry, dict) or "method" not in entry:
            raise ParamError(f"compare entry {entry!r} must be {{'method': ..., 'levels': [...]}}")
        name = entry["method"]
        if name in seen:
            raise ParamError(f"method {name!r} is already swept by this experiment")
        seen.add(name)
        try:
            spec = compress.get(name)
            levels = spec.validate_levels(entry.get("levels") or spec.default_levels)
        except compress.MethodError as exc:
            raise ParamError(str(exc)) from None
        for need, why in ((0.0, "the dense model"), (spec.heavy_level, "its heavy level, which PIEs use")):
            if not swept(levels, need):
                raise ParamError(f"{name}: levels must include {need:g} ({why})")
        out.append({"method": name, "levels": levels})
    return out


def parse_compare(text: str) -> list[dict]:
    """ "int8_static; structured: 0, 0.25, 0.5" -> checked compare entries (no levels: the defaults)."""
    entries = []
    for part in (p.strip() for p in str(text).split(";")):
        if not part:
            continue
        name, _, levels = part.partition(":")
        entry: dict = {"method": name.strip()}
        if levels.strip():
            entry["levels"] = parse_sparsities(levels)
        entries.append(entry)
    return check_compare(entries)


def default_sparsities() -> list[float]:
    """Model field default (a callable, so every row gets its own list)."""
    return list(DEFAULT_SPARSITIES)
