"""Who is forgotten: subgroup metrics, underdiagnosis and the gap between subgroups at every level.

Definitions (stated in the report):

* Subgroups are the values of each attribute (sex, age band, view, user columns); "not available"
  is never a subgroup. Each attribute's **reference** is its largest subgroup.
* Per-subgroup AUROC, AP and F1 per class and level are the exact metrics core
  (:func:`analysis.core.metrics.class_metrics`) on the images of the subgroup, from the
  seed-averaged scores (the ensemble the PIE selection uses). A class with fewer than ``min_pos``
  positives or negatives in a subgroup is **not estimable** there (empty cell, footnoted). "(macro)"
  rows average the classes estimable in every subgroup of the attribute.
* **Underdiagnosis rate** (Seyyed-Kalantari et al., Nat Med 2021): among images whose label has a
  finding ("No Finding" = 0), the fraction the model calls "No Finding" (score > 0.5, the F1
  threshold). Not estimable with fewer than ``min_finding`` such images in a subgroup, or without a
  "No Finding" class.
* **Gap**: rate(subgroup) - rate(reference). Its 95% CI resamples patients (all films of a patient
  together; ``n_boot`` replicates). **Change from dense**: gap(level) - gap(first level) on the
  same replicates (paired), and a Wilcoxon signed-rank test of the per-seed changes across seeds.
* **PIE enrichment**: per subgroup, PIE rate inside vs outside it (known values only), Fisher's
  exact test, Holm-adjusted across every subgroup tested.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats as sps

from common.metadata import NA, attribute_columns

from .boot import ci, holm, patient_codes, patient_weights, per_patient
from .metrics import class_metrics

NO_FINDING = "No Finding"
MACRO = "(macro)"


@dataclass
class Groups:
    """Every (attribute, subgroup) with its image mask, reference flag and size."""

    rows: list[tuple[str, str, bool]]  # attribute, group, is_reference
    onehot: np.ndarray  # [N, G] float32

    @classmethod
    def of(cls, meta: pd.DataFrame) -> Groups:
        rows, cols = [], []
        for attr in attribute_columns(meta):
            values = meta[attr].to_numpy()
            counts = pd.Series(values[values != NA]).value_counts()
            ref = counts.index[0]  # largest subgroup (value_counts ties: first seen)
            for g in sorted(counts.index):
                rows.append((attr, str(g), g == ref))
                cols.append(values == g)
        onehot = np.stack(cols, axis=1).astype(np.float32) if cols else np.zeros((len(meta), 0), np.float32)
        return cls(rows, onehot)


@dataclass
class SubgroupResult:
    metrics: pd.DataFrame
    underdiagnosis: pd.DataFrame
    gaps: pd.DataFrame
    pie_enrichment: pd.DataFrame | None
    groups: Groups


def group_metrics(
    mean_probs: np.ndarray, labels: np.ndarray, levels: np.ndarray, names: list[str], groups: Groups, min_pos: int
) -> pd.DataFrame:
    """level, attribute, group, class, n, n_pos, auc, ap, f1, estimable (+ (macro) rows)."""
    frames = []
    for k, (attr, g, _) in enumerate(groups.rows):
        idx = np.flatnonzero(groups.onehot[:, k])
        y = labels[idx]
        m = class_metrics(mean_probs[:, idx, :], y)  # [S, C]
        n_pos = y.sum(axis=0)
        ok = (n_pos >= min_pos) & (len(idx) - n_pos >= min_pos)
        s, c = m.auc.shape
        frames.append(
            pd.DataFrame(
                {
                    "level": np.repeat(levels, c),
                    "attribute": attr,
                    "group": g,
                    "class": np.tile(names, s),
                    "n": len(idx),
                    "n_pos": np.tile(n_pos, s),
                    "auc": np.where(ok, m.auc, np.nan).ravel(),
                    "ap": np.where(ok, m.ap, np.nan).ravel(),
                    "f1": np.where(ok, m.f1, np.nan).ravel(),
                    "estimable": np.tile(ok, s),
                }
            )
        )
    if not frames:
        cols = ["level", "attribute", "group", "class", "n", "n_pos", "auc", "ap", "f1", "estimable"]
        return pd.DataFrame(columns=cols)
    table = pd.concat(frames, ignore_index=True)
    # macro over the classes estimable in every subgroup of the attribute (a fair comparison)
    common = table.groupby(["attribute", "class"])["estimable"].transform("all")
    macro = (
        table[common]
        .groupby(["level", "attribute", "group"], sort=False)
        .agg(n=("n", "first"), n_pos=("class", "size"), auc=("auc", "mean"), ap=("ap", "mean"), f1=("f1", "mean"))
        .reset_index()
        .assign(**{"class": MACRO, "estimable": True})
    )
    return pd.concat([table, macro[table.columns]], ignore_index=True)


def _rates(num: np.ndarray, den: np.ndarray, min_finding: int) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den >= min_finding, num / np.where(den > 0, den, 1), np.nan)


def underdiagnosis(
    mean_probs: np.ndarray,
    labels: np.ndarray,
    levels: np.ndarray,
    names: list[str],
    groups: Groups,
    patients: np.ndarray,
    seed_nf: np.ndarray | None,
    *,
    n_boot: int,
    seed: int,
    min_finding: int,
    threshold: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rates, gaps) tables; both empty when the classes have no "No Finding"."""
    s, g = len(levels), len(groups.rows)
    if NO_FINDING not in names or g == 0:
        return pd.DataFrame(), pd.DataFrame()
    nf = names.index(NO_FINDING)
    finding = (labels[:, nf] == 0).astype(np.float32)  # [N]
    called = (mean_probs[:, :, nf] > threshold).astype(np.float32)  # [S, N]
    member = groups.onehot * finding[:, None]  # [N, G]: images with a finding, per subgroup
    den = member.sum(axis=0)  # [G]
    num = called @ member  # [S, G]
    rate = _rates(num, den[None], min_finding)
    # patient-level bootstrap: sums per patient, then one product per replicate set
    n_pat = int(patients.max()) + 1 if len(patients) else 0
    a = per_patient(patients, (called[:, :, None] * member[None]).transpose(1, 0, 2).reshape(len(labels), s * g), n_pat)
    d = per_patient(patients, member, n_pat)
    w = patient_weights(n_pat, n_boot, seed)
    boot = _rates((w @ a).reshape(n_boot, s, g), (w @ d)[:, None, :], min_finding)  # [B, S, G]
    lo, hi = ci(boot)
    per_seed = None
    if seed_nf is not None:
        per_seed = _rates((seed_nf > threshold).astype(np.float32) @ member, den[None, None], min_finding)  # [K,S,G]
    rows = []
    # a subgroup's per-seed rates are all NaN (too few findings) or all finite, so a plain median
    seed_med = np.median(per_seed, axis=0) if per_seed is not None else None
    for k, (attr, grp, ref) in enumerate(groups.rows):
        for j, lev in enumerate(levels):
            rows.append(
                {
                    "level": lev,
                    "attribute": attr,
                    "group": grp,
                    "reference": ref,
                    "n_with_finding": int(den[k]),
                    "rate": rate[j, k],
                    "ci_lo": lo[j, k],
                    "ci_hi": hi[j, k],
                    "seed_median": seed_med[j, k] if per_seed is not None else np.nan,
                }
            )
    return pd.DataFrame(rows), _gaps(rate, boot, per_seed, levels, groups)


def _gaps(rate, boot, per_seed, levels, groups: Groups) -> pd.DataFrame:
    rows = []
    refs = {attr: k for k, (attr, _, ref) in enumerate(groups.rows) if ref}
    for k, (attr, grp, ref) in enumerate(groups.rows):
        if ref:
            continue
        r = refs[attr]
        gap, gap_b = rate[:, k] - rate[:, r], boot[:, :, k] - boot[:, :, r]  # [S], [B, S]
        change_b = gap_b - gap_b[:, :1]
        glo, ghi = ci(gap_b)
        clo, chi = ci(change_b)
        seed_change = None
        if per_seed is not None:
            sg = per_seed[:, :, k] - per_seed[:, :, r]
            seed_change = sg - sg[:, :1]
        for j, lev in enumerate(levels):
            p = np.nan
            if seed_change is not None and j > 0:
                p = _wilcoxon(seed_change[:, j])
            rows.append(
                {
                    "level": lev,
                    "attribute": attr,
                    "group": grp,
                    "reference": groups.rows[r][1],
                    "gap": gap[j],
                    "gap_ci_lo": glo[j],
                    "gap_ci_hi": ghi[j],
                    "change_from_dense": gap[j] - gap[0],
                    "change_ci_lo": clo[j] if j else np.nan,
                    "change_ci_hi": chi[j] if j else np.nan,
                    "seed_median_change": np.median(seed_change[:, j]) if seed_change is not None and j else np.nan,
                    "n_seeds": 0 if seed_change is None else int(np.isfinite(seed_change[:, j]).sum()),
                    "seeds_p": p,
                }
            )
    return pd.DataFrame(rows)


def _wilcoxon(x: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of per-seed changes; NaN when it cannot be computed
    (fewer than 2 finite seeds, or every change exactly zero)."""
    x = x[np.isfinite(x)]
    if len(x) < 2 or not np.any(x != 0):
        return float("nan")
    return float(sps.wilcoxon(x).pvalue)


def pie_enrichment(groups: Groups, meta: pd.DataFrame, is_pie: np.ndarray) -> pd.DataFrame:
    """Per subgroup: PIE rate inside vs outside (known values of the attribute), Fisher, Holm."""
    rows = []
    for k, (attr, grp, _) in enumerate(groups.rows):
        known = (meta[attr] != NA).to_numpy()
        inside = groups.onehot[:, k].astype(bool)
        outside = known & ~inside
        a, b = int((inside & is_pie).sum()), int((inside & ~is_pie).sum())
        c, d = int((outside & is_pie).sum()), int((outside & ~is_pie).sum())
        odds, p = sps.fisher_exact([[a, b], [c, d]]) if (a + b) and (c + d) else (np.nan, np.nan)
        rows.append(
            {
                "attribute": attr,
                "group": grp,
                "n": a + b,
                "n_pies": a,
                "pie_rate": a / (a + b) if a + b else np.nan,
                "rest_rate": c / (c + d) if c + d else np.nan,
                "odds_ratio": float(odds) if np.isfinite(odds) else np.nan,
                "p": float(p),
            }
        )
    table = pd.DataFrame(rows)
    if len(table):
        table["p_holm"] = holm(table["p"].tolist())
    return table


def compute_subgroups(
    mean_probs: np.ndarray,
    labels: np.ndarray,
    levels: np.ndarray,
    class_names: list[str],
    meta: pd.DataFrame,
    *,
    seed_nf: np.ndarray | None = None,
    is_pie: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    min_pos: int = 5,
    min_finding: int = 10,
) -> SubgroupResult:
    """Every subgroup table. ``mean_probs`` [S, N, C] (seed average, levels ascending); ``meta``
    aligned to the N images (``common.metadata.align_metadata``); ``seed_nf`` [seeds, S, N] the
    "No Finding" scores of each seed (for the across-seed test)."""
    groups = Groups.of(meta)
    names = list(class_names)
    levels = np.asarray(levels, dtype=float)
    metrics = group_metrics(mean_probs, labels, levels, names, groups, min_pos)
    patients = patient_codes(meta["patient_id"].tolist(), NA)
    rates, gaps = underdiagnosis(
        mean_probs, labels, levels, names, groups, patients, seed_nf, n_boot=n_boot, seed=seed, min_finding=min_finding
    )
    enrich = pie_enrichment(groups, meta, np.asarray(is_pie, bool)) if is_pie is not None and groups.rows else None
    return SubgroupResult(metrics, rates, gaps, enrich, groups)
