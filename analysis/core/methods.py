"""Cross-method comparison: does each compression method forget the same classes, pick the same PIEs,
and what does it buy? Pure numpy/scipy on per-class AP arrays (no torch, no Django).

Definitions (every number on the page and in the downloads comes from here):

* forgetting curve of class c: median over seeds of (AP at level - dense AP) / dense AP (as Fig 2);
* tail classes: the ``ceil(tail_fraction * C)`` classes with the fewest training positives (ties by
  class order); tail AP = mean AP over them; mAP = mean AP over all classes (both averaged over seeds);
* forgetting vs frequency: Pearson r and Spearman rho of log10 train positives against the curve at the
  method's heavy level, with bootstrap CIs over classes (``stats.correlate``);
* PIE overlap: Jaccard |A & B| / |A | B| of two methods' PIE sets; baseline: the same statistic for a
  random set of B's size, ``n_perm`` draws; p = (1 + #(random >= observed)) / (1 + n_perm);
* equal-size test: for a quantization method Q and a pruning method P with measured costs, P's level whose
  file is closest in bytes to Q's heavy level; per seed d = tail change(Q) - tail change(P) (tail change =
  mean relative AP change over tail classes); mean d with a t interval over seeds. d > 0 means Q forgets
  the tail less. The claim holds when the interval is above 0, is contradicted when it is below 0, and is
  not shown when it includes 0; with fewer than 2 seeds it is not estimable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sps

from .forgettability import relative_change

COST_KEYS = ("params", "nonzeros", "file_bytes", "latency_ms_b1", "latency_ms_b64")


@dataclass
class MethodRun:
    """One method's results on the shared seeds, test images and classes."""

    name: str
    family: str  # "pruning" or "quantization"
    levels: np.ndarray  # [L], 0 first
    heavy: float
    ap: np.ndarray  # [seeds, L, C]
    is_pie: np.ndarray | None = None  # [N] bool
    costs: dict[float, dict] = field(default_factory=dict)  # level -> {cost key: value}

    def index(self, level: float) -> int:
        hits = np.flatnonzero(np.abs(self.levels - level) <= 1e-9)
        if not hits.size:
            raise ValueError(f"{self.name}: level {level:g} not among {self.levels.tolist()}")
        return int(hits[0])


def tail_classes(train_counts: np.ndarray, fraction: float = 1 / 3) -> np.ndarray:
    """Indices of the ceil(fraction * C) rarest classes (stable: ties keep class order)."""
    counts = np.asarray(train_counts, dtype=float)
    k = max(1, math.ceil(fraction * counts.size))
    return np.sort(np.argsort(counts, kind="stable")[:k])


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return float((a & b).sum() / union) if union else math.nan


def jaccard_permutation(a: np.ndarray, b: np.ndarray, n_perm: int = 999, seed: int = 0) -> dict:
    """Observed Jaccard, the mean for a random set of |b| images, and the one-sided permutation p."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    observed = jaccard(a, b)
    rng = np.random.default_rng(seed)
    k, n = int(b.sum()), b.size
    null = np.empty(n_perm)
    for i in range(n_perm):
        pick = np.zeros(n, bool)
        pick[rng.choice(n, size=k, replace=False)] = True
        null[i] = jaccard(a, pick)
    p = (1 + int((null >= observed).sum())) / (1 + n_perm) if math.isfinite(observed) else math.nan
    baseline = float(np.nanmean(null)) if np.isfinite(null).any() else math.nan
    return {"jaccard": observed, "baseline": baseline, "p": p}


def pareto_front(cost: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """True where no other point has cost <= and quality >= with one of them strict."""
    cost, quality = np.asarray(cost, float), np.asarray(quality, float)
    ok = np.isfinite(cost) & np.isfinite(quality)
    out = np.zeros(cost.size, bool)
    for i in np.flatnonzero(ok):
        better = ok & (cost <= cost[i]) & (quality >= quality[i]) & ((cost < cost[i]) | (quality > quality[i]))
        out[i] = not better.any()
    return out


def _t_interval(d: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    d = d[np.isfinite(d)]
    if d.size < 2:
        return math.nan, math.nan, math.nan
    mean, se = float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size))
    half = float(sps.t.ppf(0.5 + level / 2, d.size - 1)) * se
    return mean, mean - half, mean + half


def tail_change_per_seed(run: MethodRun, level_index: int, tail: np.ndarray) -> np.ndarray:
    """Per seed, mean relative AP change over the tail classes at one level (NaN classes skipped)."""
    rel = relative_change(run.ap)[:, level_index, :][:, tail]
    with np.errstate(invalid="ignore"):
        return np.nanmean(rel, axis=1) if np.isfinite(rel).any() else np.full(rel.shape[0], np.nan)


def equal_size_test(quant: MethodRun, prune: MethodRun, tail: np.ndarray) -> dict:
    """Quantization vs pruning at (nearly) equal file size; see the module docstring."""
    q_level = quant.heavy
    q_bytes = quant.costs.get(q_level, {}).get("file_bytes")
    sizes = {lv: c.get("file_bytes") for lv, c in prune.costs.items() if c.get("file_bytes")}
    base = {"quantization": quant.name, "pruning": prune.name, "quant_level": q_level}
    if not q_bytes or not sizes:
        return {**base, "verdict": "not estimable", "reason": "file sizes were not measured for both methods"}
    p_level = min(sizes, key=lambda lv: (abs(sizes[lv] - q_bytes), lv))
    d = tail_change_per_seed(quant, quant.index(q_level), tail) - tail_change_per_seed(
        prune, prune.index(p_level), tail
    )
    mean, lo, hi = _t_interval(d)
    out = {
        **base,
        "prune_level": p_level,
        "quant_bytes": q_bytes,
        "prune_bytes": sizes[p_level],
        "size_mismatch": sizes[p_level] / q_bytes - 1,
        "n_seeds": int(np.isfinite(d).sum()),
        "diff": mean,
        "ci": (lo, hi),
    }
    if not math.isfinite(lo):
        return {**out, "verdict": "not estimable", "reason": "fewer than 2 seeds with a tail AP change"}
    if lo > 0:
        verdict = "holds"
    elif hi < 0:
        verdict = "contradicted"
    else:
        verdict = "not shown"
    return {**out, "verdict": verdict, "reason": ""}
