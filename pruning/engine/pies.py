"""Pruning-identified exemplars (PIEs).

Paper definition (Holste et al. 2023, after Hooker et al. 2019): average the sigmoid outputs over
all seeds for the dense model and for the sparsity-k model (k = 0.9); for every image take the
Spearman correlation between the two averaged class-score vectors; the floor(q * N) images with
the LOWEST correlation (q = 0.05) are PIEs.

Decisions the paper's code leaves open (it sorts with an unstable argsort and lets NaN fall
wherever pandas puts it):

* Ties: images are ordered by (correlation, image index), so among equal correlations the lower
  index becomes a PIE first. Spearman over ~20 classes takes few distinct values, so the cutoff
  usually splits a tie group; its size and how much of it became PIEs are reported.
  Correlations are computed exactly (integer doubled ranks, one correctly rounded division and
  square root), so mathematically equal correlations are bitwise equal and tie groups are exact.
* NaN: a constant score row (dense or pruned) has no Spearman correlation. ``nan_policy="exclude"``
  (default) never makes such an image a PIE -- there is no evidence its ranking changed -- and
  gives it no rank; if fewer than floor(q*N) images remain, fewer PIEs are returned (reported).
  ``nan_policy="lowest"`` ranks NaN rows as most disagreeing instead (before every valid row).
  Either way ``n_nan`` is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from common.sparsity import sparsity_index

NAN_POLICIES = ("exclude", "lowest")


@dataclass
class PieResult:
    """``table``: one row per image, in image order; ``summary``: counts and choices made."""

    table: pd.DataFrame
    summary: dict = field(default_factory=dict)

    @property
    def pie_indices(self) -> np.ndarray:
        return self.table.loc[self.table["is_pie"], "image_index"].to_numpy()

    @property
    def pie_ids(self) -> list[str]:
        return self.table.loc[self.table["is_pie"], "image_id"].tolist()


def ensemble_mean(probs: np.ndarray) -> np.ndarray:
    """Mean over the first (seed) axis, accumulated in float64."""
    probs = np.asarray(probs)
    if probs.ndim < 2 or probs.shape[0] == 0:
        raise ValueError(f"expected [seeds, ...] with at least one seed, got shape {probs.shape}")
    return probs.mean(axis=0, dtype=np.float64)


def _centred_doubled_ranks(x: np.ndarray) -> np.ndarray:
    """2 * average rank - (C + 1) along the last axis: integers, exact in float64.

    ``scipy.stats.rankdata(method="average")``'s ranks (a row holding NaN is all NaN, as its
    default ``nan_policy``), without its general machinery: one argsort per row, and a tie group
    of sorted positions [first, last] gets doubled rank first + last + 2.
    """
    x = np.asarray(x)
    c = x.shape[-1]
    if x.size == 0:
        return np.zeros(x.shape)
    order = np.argsort(x, axis=-1)
    xs = np.take_along_axis(x, order, -1)
    new = np.ones(xs.shape, dtype=bool)  # new[..., i]: sorted position i starts a tie group
    np.not_equal(xs[..., 1:], xs[..., :-1], out=new[..., 1:])
    pos = np.arange(c)
    first = np.maximum.accumulate(np.where(new, pos, 0), axis=-1)
    ends = np.ones(xs.shape, dtype=bool)  # ends[..., i]: sorted position i ends a tie group
    ends[..., :-1] = new[..., 1:]
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, pos, c - 1), -1), axis=-1), -1)
    out = np.empty(x.shape)
    np.put_along_axis(out, order, (first + last + 2 - (c + 1)).astype(np.float64), -1)
    if np.issubdtype(x.dtype, np.floating):
        out[np.isnan(x).any(axis=-1)] = np.nan
    return out


def _spearman_from_ranks(da: np.ndarray, db: np.ndarray) -> np.ndarray:
    cov = np.einsum("...c,...c->...", da, db)
    va = np.einsum("...c,...c->...", da, da)
    vb = np.einsum("...c,...c->...", db, db)
    with np.errstate(invalid="ignore", divide="ignore"):
        # cov, va, vb are exact integers; one division and one sqrt, both correctly rounded,
        # map equal rationals to equal floats (exact while va * vb < 2**53, i.e. C up to ~200).
        r = np.sign(cov) * np.sqrt(cov * cov / (va * vb))
    r[(va == 0) | (vb == 0)] = np.nan
    return r


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman correlation of matching rows of ``a`` and ``b`` (shape [..., C]) -> [...].

    Average ranks for ties (as ``scipy.stats.spearmanr``); NaN where either row is constant.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"score arrays differ in shape: {a.shape} vs {b.shape}")
    return _spearman_from_ranks(_centred_doubled_ranks(a), _centred_doubled_ranks(b))


def n_pies_for(q: float, n: int) -> int:
    """floor(q * n), tolerant to float error (0.29 * 100 = 28.999999999999996 gives 29)."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"PIE fraction q={q} is outside [0, 1]")
    return math.floor(q * n + 1e-9)


def _order(corr: np.ndarray, nan_policy: str) -> np.ndarray:
    """Image indices from most to least disagreeing; ties by index. NaN rows last or first."""
    idx = np.arange(len(corr))
    key = np.where(np.isnan(corr), -np.inf if nan_policy == "lowest" else np.inf, corr)
    return np.lexsort((idx, key))


def select_pies(
    dense_probs: np.ndarray,
    pruned_probs: np.ndarray,
    q: float = 0.05,
    image_ids: list[str] | None = None,
    *,
    nan_policy: str = "exclude",
    sweep_probs: np.ndarray | None = None,
    sweep_sparsities: np.ndarray | None = None,
) -> PieResult:
    """PIEs from seed-averaged scores ``dense_probs`` and ``pruned_probs`` [N, C].

    With ``sweep_probs`` [S, N, C] (seed-averaged, at ``sweep_sparsities``), the table also gets
    ``first_sparsity_below``: the smallest sparsity > 0 whose dense-vs-pruned correlation is at
    or below the PIE cutoff correlation (NaN when none is, or when there are no PIEs).
    """
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy {nan_policy!r} not in {NAN_POLICIES}")
    dense, pruned = np.asarray(dense_probs), np.asarray(pruned_probs)
    if dense.ndim != 2:
        raise ValueError(f"dense_probs must be [N, C], got shape {dense.shape}")
    n = dense.shape[0]
    ids = [str(i) for i in (image_ids if image_ids is not None else range(n))]
    if len(ids) != n:
        raise ValueError(f"{len(ids)} image ids for {n} images")
    if pruned.shape != dense.shape:
        raise ValueError(f"pruned_probs shape {pruned.shape} != dense_probs shape {dense.shape}")
    d_dense = _centred_doubled_ranks(dense)
    corr = _spearman_from_ranks(d_dense, _centred_doubled_ranks(pruned))

    is_nan = np.isnan(corr)
    n_nan = int(is_nan.sum())
    target = n_pies_for(q, n)
    n_rankable = n if nan_policy == "lowest" else n - n_nan
    n_pies = min(target, n_rankable)
    order = _order(corr, nan_policy)
    rank_np = np.zeros(n, dtype=np.int64)
    rank_np[order[:n_rankable]] = np.arange(1, n_rankable + 1)
    rank = pd.arrays.IntegerArray(rank_np, rank_np == 0)  # <NA> for unranked (NaN) rows
    is_pie = np.zeros(n, dtype=bool)
    is_pie[order[:n_pies]] = True

    cutoff = float(corr[order[n_pies - 1]]) if n_pies else float("nan")
    if n_pies and math.isnan(cutoff):  # "lowest" policy, cutoff inside the NaN group
        tie_size, tie_in = n_nan, n_pies
    elif n_pies:
        tie_size = int((corr == cutoff).sum())
        tie_in = n_pies - int((corr < cutoff).sum()) - (n_nan if nan_policy == "lowest" else 0)
    else:
        tie_size = tie_in = 0

    table = pd.DataFrame(
        {
            "image_index": np.arange(n),
            "image_id": ids,
            "correlation": corr,
            "rank": rank,
            "is_pie": is_pie,
        }
    )
    if sweep_probs is not None:
        table["first_sparsity_below"] = _first_below(
            d_dense, sweep_probs, sweep_sparsities, cutoff if n_pies else None, nan_policy
        )
    summary = {
        "definition": "spearman",
        "q": q,
        "n_images": n,
        "n_pies": n_pies,
        "n_pies_target": target,
        "n_nan": n_nan,
        "nan_policy": nan_policy,
        "cutoff_correlation": cutoff,
        "tie_group_size": tie_size,
        "tie_group_in_pies": tie_in,
        "tie_break": "image index ascending",
    }
    table.attrs.update(summary)
    return PieResult(table=table, summary=summary)


def _first_below(d_dense, sweep_probs, sparsities, cutoff, nan_policy) -> np.ndarray:
    if sparsities is None:
        raise ValueError("sweep_probs needs sweep_sparsities")
    probs = np.asarray(sweep_probs)
    sp = np.asarray(sparsities, dtype=np.float64)
    if probs.ndim != 3 or probs.shape[1:] != d_dense.shape or len(sp) != probs.shape[0]:
        raise ValueError(
            f"sweep_probs shape {probs.shape} does not fit {len(sp)} sparsities x "
            f"{d_dense.shape[0]} images x {d_dense.shape[1]} classes"
        )
    out = np.full(d_dense.shape[0], np.nan)
    if cutoff is None:
        return out
    keep = np.argsort(sp, kind="stable")
    keep = keep[sp[keep] > 0]
    for s in keep:  # one vectorised [N, C] pass per sparsity; the dense ranks are reused
        corr = _spearman_from_ranks(d_dense, _centred_doubled_ranks(probs[s]))
        below = corr <= cutoff if not math.isnan(cutoff) else np.zeros(len(corr), dtype=bool)
        if nan_policy == "lowest":
            below |= np.isnan(corr)
        out[np.isnan(out) & below] = sp[s]
    return out


def select_pies_from_sets(
    sets: list, sparsity: float = 0.9, q: float = 0.05, *, nan_policy: str = "exclude"
) -> PieResult:
    """PIEs from per-seed prediction stores (``store.PredictionSet``): seed-averaged scores at
    sparsity 0 (must be in the stores) vs ``sparsity``; adds ``first_sparsity_below``."""
    from .store import stack_seeds

    probs, sparsities, ids, _ = stack_seeds(sets)
    return select_pies_from_mean(
        ensemble_mean(probs), sparsities, sparsity, q, ids, n_seeds=len(sets), nan_policy=nan_policy
    )


def select_pies_from_mean(
    mean: np.ndarray,
    sparsities: np.ndarray,
    sparsity: float = 0.9,
    q: float = 0.05,
    image_ids: list[str] | None = None,
    *,
    n_seeds: int,
    nan_policy: str = "exclude",
) -> PieResult:
    """PIEs from seed-averaged scores ``mean`` [S, N, C] at ``sparsities`` (0 must be among them):
    dense vs ``sparsity``, with ``first_sparsity_below``. A caller that streams seeds passes the
    float64 running sum divided by ``n_seeds``: the same numbers as :func:`ensemble_mean`, which
    adds the seeds in the same order."""
    sparsities = np.asarray(sparsities, dtype=np.float64)
    dense, pruned = sparsity_index(sparsities, 0.0), sparsity_index(sparsities, sparsity)
    if dense is None:
        raise ValueError(f"no dense (sparsity 0) predictions among {sparsities.tolist()}")
    if pruned is None:
        raise ValueError(f"sparsity {sparsity} not among {sparsities.tolist()}")
    sel = select_pies(
        mean[dense],
        mean[pruned],
        q,
        image_ids,
        nan_policy=nan_policy,
        sweep_probs=mean,
        sweep_sparsities=sparsities,
    )
    sel.summary.update(sparsity=float(sparsities[pruned]), n_seeds=int(n_seeds))
    sel.table.attrs.update(sel.summary)
    return sel


def select_pies_hooker(
    dense_probs_per_seed: np.ndarray,
    pruned_probs_per_seed: np.ndarray,
    threshold: float = 0.5,
    image_ids: list[str] | None = None,
) -> PieResult:
    """Hooker et al. (2019) style PIEs for multi-label outputs.

    Each model's label set is ``prob > threshold`` per class. The modal label set of a population
    (dense models, pruned models; [seeds, N, C] each, seed counts may differ) is the per-class
    strict majority vote over seeds (an exact 50/50 split counts as absent). An image is a PIE
    when the dense and pruned modal label sets differ in any class.
    """
    dense, pruned = np.asarray(dense_probs_per_seed), np.asarray(pruned_probs_per_seed)
    if dense.ndim != 3 or pruned.ndim != 3 or dense.shape[1:] != pruned.shape[1:]:
        raise ValueError(f"expected [seeds, N, C] arrays with equal N, C; got {dense.shape} and {pruned.shape}")

    def modal(p: np.ndarray) -> np.ndarray:
        return 2 * (p > threshold).sum(axis=0) > p.shape[0]

    differ = (modal(dense) != modal(pruned)).sum(axis=1)
    n = dense.shape[1]
    ids = [str(i) for i in (image_ids if image_ids is not None else range(n))]
    if len(ids) != n:
        raise ValueError(f"{len(ids)} image ids for {n} images")
    table = pd.DataFrame(
        {"image_index": np.arange(n), "image_id": ids, "n_classes_differ": differ, "is_pie": differ > 0}
    )
    summary = {
        "definition": "hooker",
        "threshold": threshold,
        "n_images": n,
        "n_pies": int((differ > 0).sum()),
        "n_seeds_dense": dense.shape[0],
        "n_seeds_pruned": pruned.shape[0],
    }
    table.attrs.update(summary)
    return PieResult(table=table, summary=summary)
