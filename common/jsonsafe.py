"""One cleaner for everything that becomes JSON (a JSONField, summary.json): the JSON standard has no NaN
or infinity (PostgreSQL's JSONField and ``json.dumps(allow_nan=False)`` refuse them) and no numpy types.
Duck-typed, so this package needs no numpy: a numpy scalar has ``item()``, an array ``tolist()``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def json_safe(value: Any) -> Any:
    """NaN/inf -> None, numpy scalars -> Python scalars, mappings -> dicts with str keys, sequences and arrays
    -> lists, recursively. Anything else is returned as it is (json.dumps' ``default`` decides about it)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0:  # a numpy array: element by element
        return [json_safe(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
