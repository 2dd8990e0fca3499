"""Small statistics shared by the subgroup, calibration and uncertainty sections.

* Patient-level bootstrap: images of one patient are resampled together (a patient with several
  films is one unit), as weights ``[B, P]`` (how often each patient is drawn in each replicate),
  so a statistic that is a ratio of per-patient sums is one matrix product per replicate set.
* Holm's step-down adjustment.
* Sentences: a CI that spans zero reads "no clear difference", never a direction.

All percentile CIs are 95% and reproducible: the same ``seed`` gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

NOT_ESTIMABLE = "not estimable"


def patient_codes(patient_ids: Sequence[str], missing: str) -> np.ndarray:
    """Integer code per image; an image without a patient id is its own patient."""
    ids = [str(p) for p in patient_ids]
    codes = pd.factorize(pd.Series(ids, dtype=object))[0]
    own = np.flatnonzero(np.asarray(ids, dtype=object) == missing)
    codes[own] = codes.max(initial=-1) + 1 + np.arange(len(own))
    return pd.factorize(codes)[0]


def patient_weights(n_patients: int, n_boot: int, seed: int) -> np.ndarray:
    """[B, P] float32 draw counts: each replicate draws P patients with replacement."""
    rng = np.random.default_rng([int(seed), 20])
    w = np.zeros((n_boot, n_patients), dtype=np.float32)
    for b in range(n_boot):
        w[b] = np.bincount(rng.integers(0, n_patients, n_patients), minlength=n_patients)
    return w


def per_patient(codes: np.ndarray, values: np.ndarray, n_patients: int) -> np.ndarray:
    """Sum of ``values`` [N, K] per patient: [P, K] (float32, for the bootstrap product)."""
    from scipy import sparse

    n = len(codes)
    m = sparse.csr_matrix((np.ones(n, np.float32), (codes, np.arange(n))), shape=(n_patients, n))
    return np.asarray(m @ np.asarray(values, np.float32), dtype=np.float32)


def ci(samples: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """95% percentile interval along ``axis`` (NaN replicates ignored)."""
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanpercentile(samples, [2.5, 97.5], axis=axis)
    return lo, hi


def holm(p: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (NaN stays NaN and is not counted)."""
    p = np.asarray(p, dtype=float)
    ok = np.flatnonzero(np.isfinite(p))
    out = np.full(len(p), np.nan)
    order = ok[np.argsort(p[ok], kind="stable")]
    m, running = len(order), 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        out[i] = running
    return out.tolist()


def num(v, digits: int = 3) -> str:
    return NOT_ESTIMABLE if v is None or not math.isfinite(float(v)) else f"{float(v):.{digits}f}"


def pval(p) -> str:
    if p is None or not math.isfinite(float(p)):
        return "p not estimable"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def finite(*values) -> bool:
    return all(v is not None and math.isfinite(float(v)) for v in values)


def direction(lo, hi, up: str, down: str, same: str = "no clear difference") -> str:
    """``up`` when the CI is above zero, ``down`` below, ``same`` when it spans zero."""
    if not finite(lo, hi):
        return NOT_ESTIMABLE
    return up if lo > 0 else down if hi < 0 else same
