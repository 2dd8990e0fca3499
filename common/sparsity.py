"""One answer to "is this the sparsity we mean?".

Sparsities travel through JSON, forms, file names and float arithmetic (0.9 vs 0.9000000000000001), so
they are never compared with ``==``: two sparsities are the same when they differ by at most TOLERANCE,
everywhere in the product. The dense model is sparsity 0 under the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TOLERANCE = 1e-9


def same_sparsity(a: float, b: float) -> bool:
    return abs(float(a) - float(b)) <= TOLERANCE


def sparsity_index(sparsities: Sequence[float], target: float) -> int | None:
    """Position of the first sparsity equal to ``target``, or None when it was not swept."""
    hits = np.flatnonzero(np.abs(np.asarray(sparsities, dtype=float) - float(target)) <= TOLERANCE)
    return int(hits[0]) if hits.size else None


def swept(sparsities: Sequence[float], target: float) -> bool:
    """Whether ``target`` is among ``sparsities``."""
    return sparsity_index(sparsities, target) is not None


def same_sweep(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether two sweeps hold the same sparsities in the same order."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return x.shape == y.shape and bool(np.all(np.abs(x - y) <= TOLERANCE))
