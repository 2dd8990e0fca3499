"""Correlations with p-values and seeded bootstrap confidence intervals.

Every correlation the paper typed into its figures is computed here instead:

* Pearson r and Spearman rho with scipy's two-sided p-values (t distribution; exact for the
  null of no association under normality for r, asymptotic for rho).
* Percentile bootstrap CIs from resampling (x, y) pairs with replacement, using a seeded
  ``numpy.random.Generator`` so reports are reproducible. Resamples in which one variable is
  constant give no correlation and are skipped (``n_boot_valid`` says how many were used).
* Pairs where either value is missing (NaN / inf) are dropped first; ``n`` is the count used.
* For distance-like pair data (FCD between class pairs), the C*(C-1)/2 pairs are not independent:
  each class appears in C-1 of them. :func:`mantel_p` gives a permutation p-value that respects
  that (class labels of one matrix are permuted), reported beside the naive p-values.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as sps

from common.jsonsafe import json_safe

__all__ = ["Correlation", "correlate", "mantel_p"]


@dataclass(frozen=True)
class Correlation:
    x: str
    y: str
    n: int
    r: float
    r_p: float
    r_ci: tuple[float, float]
    rho: float
    rho_p: float
    rho_ci: tuple[float, float]
    ci_level: float
    n_boot: int
    n_boot_valid: int
    mantel_r_p: float | None = None
    mantel_rho_p: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict: NaN becomes None."""
        return json_safe(asdict(self))

    def label(self) -> str:
        """Short text for a figure: r and rho with p-values, CIs and n."""
        return (
            f"r = {_f(self.r)} [{_f(self.r_ci[0])}, {_f(self.r_ci[1])}], p {_p(self.r_p)}\n"
            f"ρ = {_f(self.rho)} [{_f(self.rho_ci[0])}, {_f(self.rho_ci[1])}], "
            f"p {_p(self.rho_p)}; n = {self.n}"
        )


def _f(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.2f}"


def _p(v: float) -> str:
    if not np.isfinite(v):
        return "= n/a"
    return "< 0.001" if v < 0.001 else f"= {v:.3f}"


def _rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair; NaN where either row is constant (no correlation defined)."""
    const = (np.ptp(a, axis=1) == 0) | (np.ptp(b, axis=1) == 0)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    r[const] = np.nan
    return np.clip(r, -1.0, 1.0)


def _pair(fn, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fn(x, y)
    return float(res.statistic), float(res.pvalue)


def correlate(
    x: np.ndarray,
    y: np.ndarray,
    *,
    x_name: str = "x",
    y_name: str = "y",
    n_boot: int = 2000,
    ci_level: float = 0.95,
    seed: int = 0,
) -> Correlation:
    """Pearson and Spearman correlation of ``x`` and ``y`` with p-values and bootstrap CIs.

    Fewer than 3 complete pairs, or a constant variable, gives NaN statistics (not an error).
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"{x_name} has {x.size} values but {y_name} has {y.size}")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = int(x.size)
    r, r_p = _pair(sps.pearsonr, x, y)
    rho, rho_p = _pair(sps.spearmanr, x, y)
    nan2 = (math.nan, math.nan)
    r_ci, rho_ci, valid = nan2, nan2, 0
    if n >= 3 and n_boot > 0:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n, size=(n_boot, n))
        xb, yb = x[idx], y[idx]
        rb = _rowwise_pearson(xb, yb)
        rhob = _rowwise_pearson(sps.rankdata(xb, axis=1), sps.rankdata(yb, axis=1))
        alpha = (1.0 - ci_level) / 2.0
        q = [100 * alpha, 100 * (1 - alpha)]
        valid = int(np.isfinite(rb).sum())
        if valid:
            r_ci = tuple(float(v) for v in np.nanpercentile(rb, q))
        if np.isfinite(rhob).any():
            rho_ci = tuple(float(v) for v in np.nanpercentile(rhob, q))
    return Correlation(x_name, y_name, n, r, r_p, r_ci, rho, rho_p, rho_ci, ci_level, n_boot, valid)


def mantel_p(
    dist: np.ndarray,
    other: np.ndarray,
    *,
    method: str = "pearson",
    n_perm: int = 999,
    seed: int = 0,
) -> float:
    """Two-sided Mantel permutation p-value for the correlation of two symmetric [C, C] matrices.

    Uses the upper triangles; pairs with a non-finite value in either matrix are dropped in each
    permutation. p = (1 + #{|stat_perm| >= |stat_obs|}) / (1 + n_perm).
    """
    a = np.asarray(dist, dtype=float)
    b = np.asarray(other, dtype=float)
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"mantel_p needs two equal square matrices; got {a.shape} and {b.shape}")
    c = a.shape[0]
    iu = np.triu_indices(c, 1)
    bv = b[iu]

    def stat(av: np.ndarray) -> float:
        ok = np.isfinite(av) & np.isfinite(bv)
        u, v = av[ok], bv[ok]
        if method == "spearman":
            u, v = sps.rankdata(u), sps.rankdata(v)
        return float(_rowwise_pearson(u[None], v[None])[0]) if u.size >= 3 else math.nan

    obs = stat(a[iu])
    if not np.isfinite(obs) or n_perm <= 0:
        return math.nan
    rng = np.random.default_rng(seed)
    perms = np.stack([rng.permutation(c) for _ in range(n_perm)])  # the same draws, in order
    permuted = a[perms[:, :, None], perms[:, None, :]][:, iu[0], iu[1]]  # [n_perm, pairs]
    if np.isfinite(permuted).all() and np.isfinite(bv).all():
        # No pair is ever dropped: all permutations in one vectorised pass (row by row the
        # same arithmetic as ``stat``).
        u, v = permuted, bv[None]
        if method == "spearman":
            u, v = sps.rankdata(u, axis=1), sps.rankdata(v, axis=1)
        stats_ = _rowwise_pearson(u, np.broadcast_to(v, u.shape))
    else:
        stats_ = np.array([stat(row) for row in permuted])
    hits = int(np.count_nonzero(np.isfinite(stats_) & (np.abs(stats_) >= abs(obs) - 1e-12)))
    return (1 + hits) / (1 + n_perm)
