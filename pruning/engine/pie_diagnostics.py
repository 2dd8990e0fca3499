"""Diagnostics shown next to every PIE selection (a step beyond the paper).

They use only what the platform knows (the test labels and the per-seed predictions), never a
synthetic dataset's hidden truth:

* findings per image: positive labels other than "No Finding", PIEs vs non-PIEs (means and a
  two-sided Mann-Whitney U test);
* class mix: per class, the share of PIEs and of non-PIEs carrying it ("No Finding" included);
* dominance warning: when a single class is carried by more than ``DOMINANCE_SHARE`` of the PIEs
  and by a clearly smaller share of the non-PIEs, the PIE set mostly reflects that class (the
  synthetic demo once gave 18 "No Finding" PIEs of 20);
* leave-one-seed-out stability: for each seed, the PIE set selected without it, and its Jaccard
  index |A & B| / |A | B| with the full set (1 = identical). Low values say the ensemble is too
  small for a stable PIE set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats as sps

from common.sparsity import sparsity_index

DOMINANCE_SHARE = 0.5  # more than half of the PIEs carry one class
DOMINANCE_RATIO = 1.5  # ... and that share is at least 1.5x the class's share among non-PIEs
NO_FINDING = "no finding"


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard index of two boolean masks; 1.0 when both are empty."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


def findings_per_image(labels: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
    keep = np.array([c.strip().lower() != NO_FINDING for c in class_names])
    return np.asarray(labels)[:, keep].sum(axis=1)


def _share(y: np.ndarray) -> np.ndarray:
    return y.mean(axis=0) if len(y) else np.full(y.shape[1], np.nan)


def class_mix(labels: np.ndarray, class_names: Sequence[str], is_pie: np.ndarray) -> list[dict]:
    """Per class: PIE share, non-PIE share and their ratio, most over-represented among PIEs first."""
    y = np.asarray(labels).astype(bool)
    pie, non = _share(y[is_pie]), _share(y[~is_pie])
    rows = []
    for j, name in enumerate(class_names):
        ratio = pie[j] / non[j] if non[j] > 0 else (np.inf if pie[j] > 0 else np.nan)
        rows.append(
            {
                "class": name,
                "pie_share": float(pie[j]),
                "non_pie_share": float(non[j]),
                "ratio": None if not np.isfinite(ratio) else float(ratio),
                "n_pies": int(y[is_pie, j].sum()),
            }
        )
    rows.sort(key=lambda r: (-(r["pie_share"] - r["non_pie_share"]), r["class"]))
    return rows


def dominance_warning(mix: list[dict], n_pies: int) -> str:
    """A sentence when one class dominates the PIEs (see module docstring), else ''."""
    if not n_pies:
        return ""
    top = max(mix, key=lambda r: r["pie_share"])
    share, base = top["pie_share"], top["non_pie_share"]
    if share > DOMINANCE_SHARE and share >= DOMINANCE_RATIO * base:
        return (
            f"{top['n_pies']} of {n_pies} PIEs ({share:.0%}) carry '{top['class']}' against {base:.0%} of the "
            f"non-PIEs: the selection mostly reflects that class."
        )
    return ""


def leave_one_seed_out(
    select: Callable[[Sequence[int]], np.ndarray], seeds: Sequence[int], full: np.ndarray
) -> list[dict]:
    """``select(kept seed positions) -> PIE mask``; one row per left-out seed with its Jaccard."""
    if len(seeds) < 2:
        return []
    rows = []
    for k, seed in enumerate(seeds):
        kept = [i for i in range(len(seeds)) if i != k]
        mask = select(kept)
        rows.append({"left_out_seed": int(seed), "jaccard": jaccard(mask, full), "n_pies": int(mask.sum())})
    return rows


def pie_diagnostics(
    is_pie: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    seeds: Sequence[int] = (),
    select: Callable[[Sequence[int]], np.ndarray] | None = None,
) -> dict:
    """Every diagnostic of one PIE selection as a JSON-ready dict (see the module docstring)."""
    is_pie = np.asarray(is_pie, bool)
    y = np.asarray(labels)
    if y.shape != (len(is_pie), len(class_names)):
        raise ValueError(f"labels shape {y.shape} does not fit {len(is_pie)} images x {len(class_names)} classes")
    counts = findings_per_image(y, class_names)
    cp, cn = counts[is_pie], counts[~is_pie]
    p = float(sps.mannwhitneyu(cp, cn, alternative="two-sided").pvalue) if cp.size and cn.size else None
    mix = class_mix(y, class_names, is_pie)
    loso = leave_one_seed_out(select, seeds, is_pie) if select is not None else []
    jac = [r["jaccard"] for r in loso]
    return {
        "findings_per_image": {
            "pie_mean": float(cp.mean()) if cp.size else None,
            "non_pie_mean": float(cn.mean()) if cn.size else None,
            "pie_without_findings": float((cp == 0).mean()) if cp.size else None,
            "non_pie_without_findings": float((cn == 0).mean()) if cn.size else None,
            "p": p,
            "test": "Mann-Whitney U, two-sided",
        },
        "class_mix": mix,
        "dominance_warning": dominance_warning(mix, int(is_pie.sum())),
        "leave_one_seed_out": loso,
        "jaccard_mean": float(np.mean(jac)) if jac else None,
        "jaccard_min": float(np.min(jac)) if jac else None,
    }


def diagnostics_from_sets(
    sets: list, is_pie: np.ndarray, labels: np.ndarray, class_names: Sequence[str], seeds: Sequence[int], **selection
) -> dict:
    """``pie_diagnostics`` for a selection made from per-seed prediction stores; ``selection`` holds
    the selection's definition, sparsity and q, so each leave-one-seed-out set is made the same way."""
    from .pies import ensemble_mean, select_pies, select_pies_hooker
    from .store import stack_seeds

    probs, sparsities, _, _ = stack_seeds(sets)
    dense, pruned = sparsity_index(sparsities, 0.0), sparsity_index(sparsities, selection["sparsity"])
    if dense is None or pruned is None:
        raise ValueError(f"sparsity 0 and {selection['sparsity']} must both be in {sparsities.tolist()}")

    def select(kept: Sequence[int]) -> np.ndarray:
        if selection.get("definition") == "hooker":
            return select_pies_hooker(probs[kept, dense], probs[kept, pruned]).table["is_pie"].to_numpy()
        mean = ensemble_mean(probs[kept][:, [dense, pruned]])
        return select_pies(mean[0], mean[1], selection["q"]).table["is_pie"].to_numpy()

    return pie_diagnostics(is_pie, labels, class_names, seeds=seeds, select=select)
