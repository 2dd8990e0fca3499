"""The "who is forgotten" sections of the report: subgroups, calibration, uncertainty.

:func:`compute_who` takes what the report already has (labels, levels, the seed-averaged scores,
the PIE mask) plus the per-image metadata and three per-seed views of the scores
(:class:`SeedViews`: the dense level, the PIE level, the "No Finding" column at every level) and
returns :class:`WhoSections`: CSV tables, summary numbers with generated sentences, figure
arguments. The level axis is generic: whatever levels the store has, ascending; the first is the
reference ("dense").

Streaming (the paper's released layout, one seed at a time): :class:`SeedViewCollector` keeps the
three views while the seeds pass, so the sections never need every seed's full predictions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from common.metadata import NA, align_metadata

from .calibration import N_BINS, compute_calibration
from .subgroups import MACRO, NO_FINDING, compute_subgroups
from .uncertainty import compute_uncertainty
from .who_text import calibration_text, planted_check, subgroup_text, uncertainty_text

WHO_FIGURES = ("fig_subgroups", "fig_calibration", "fig_risk_coverage", "fig_uncertainty")


@dataclass
class SeedViews:
    """Per-seed slices: dense [K, N, C], PIE level [K, N, C] (or None), No Finding [K, S, N] (or None)."""

    dense: np.ndarray
    pie_level: np.ndarray | None
    no_finding: np.ndarray | None

    @classmethod
    def from_probs(cls, probs: np.ndarray, pie_index: int | None, class_names: list[str]) -> SeedViews:
        nf = class_names.index(NO_FINDING) if NO_FINDING in class_names else None
        return cls(
            dense=probs[:, 0],
            pie_level=probs[:, pie_index] if pie_index is not None else None,
            no_finding=probs[..., nf] if nf is not None else None,
        )


class SeedViewCollector:
    """Collects :class:`SeedViews` one seed [S, N, C] (levels ascending) at a time."""

    def __init__(self, class_names: list[str], levels: np.ndarray, pie_level: float | None) -> None:
        self.nf = class_names.index(NO_FINDING) if NO_FINDING in class_names else None
        order = np.argsort(np.asarray(levels, float), kind="stable")
        self.order = order
        lv = np.asarray(levels, float)[order]
        hit = np.flatnonzero(np.isclose(lv, pie_level)) if pie_level is not None else []
        self.pie_index = int(hit[0]) if len(hit) else None
        self.dense, self.pie, self.no_finding = [], [], []

    def add(self, probs: np.ndarray) -> None:
        p = np.asarray(probs)[self.order]
        self.dense.append(np.array(p[0], dtype=np.float32))
        if self.pie_index is not None:
            self.pie.append(np.array(p[self.pie_index], dtype=np.float32))
        if self.nf is not None:
            self.no_finding.append(np.array(p[..., self.nf], dtype=np.float32))

    def views(self) -> SeedViews:
        return SeedViews(
            np.stack(self.dense),
            np.stack(self.pie) if self.pie else None,
            np.stack(self.no_finding) if self.no_finding else None,
        )


@dataclass
class WhoSections:
    tables: dict[str, pd.DataFrame]
    summary: dict
    figure_args: dict[str, dict] = field(default_factory=dict)


def _tail_table(per_class: pd.DataFrame, names: list[str], train_counts: np.ndarray) -> pd.DataFrame:
    """Mean AURC per level for the head (most frequent third) and tail (rarest third) classes."""
    order = np.argsort(-np.asarray(train_counts, float), kind="stable")
    third = max(1, len(names) // 3)
    head, tail = {names[i] for i in order[:third]}, {names[i] for i in order[-third:]}
    rows = []
    for label, members in ((f"head ({third} most frequent)", head), (f"tail ({third} rarest)", tail)):
        part = per_class[per_class["class"].isin(members)].groupby("level", sort=True)
        agg = part[["aurc", "risk_full", "risk_80"]].mean().reset_index()
        rows.append(agg.assign(classes=label))
    return pd.concat(rows, ignore_index=True)


def compute_who(
    *,
    mean_probs: np.ndarray,
    labels: np.ndarray,
    levels: np.ndarray,
    class_names: list[str],
    image_ids: list[str],
    train_counts: np.ndarray,
    views: SeedViews | None,
    metadata: pd.DataFrame | None,
    is_pie: np.ndarray | None,
    pie_level: float | None,
    hidden_truth: pd.DataFrame | None = None,
    level_name: str = "sparsity",
    n_boot: int = 1000,
    n_boot_pies: int = 10,
    random_state: int = 0,
) -> WhoSections:
    """Every table, number, sentence and figure of the three sections (see the module docstring)."""
    names, levels = list(class_names), np.asarray(levels, float)
    meta = align_metadata(metadata, image_ids)
    # float32 (the models' own precision): the metric and calibration sorts run on 32-bit keys, twice as fast
    mean_probs = np.asarray(mean_probs, dtype=np.float32)
    focus = pie_level if pie_level is not None and np.isclose(levels, pie_level).any() else float(levels[-1])
    tables: dict[str, pd.DataFrame] = {"metadata": meta.reset_index()}
    sub = compute_subgroups(
        mean_probs,
        labels,
        levels,
        names,
        meta,
        seed_nf=views.no_finding if views is not None else None,
        is_pie=is_pie,
        n_boot=n_boot,
        seed=random_state,
    )
    tables |= {"subgroup_metrics": sub.metrics, "underdiagnosis": sub.underdiagnosis, "subgroup_gaps": sub.gaps}
    if sub.pie_enrichment is not None:
        tables["pie_subgroups"] = sub.pie_enrichment
    cal = compute_calibration(mean_probs, labels, levels, names)
    tail = _tail_table(cal.per_class, names, train_counts)
    tables |= {
        "calibration_classes": cal.per_class,
        "calibration": cal.overall,
        "reliability": cal.reliability,
        "risk_coverage": cal.curves,
        "aurc_head_tail": tail,
    }
    unc = None
    if views is not None and is_pie is not None:
        unc = compute_uncertainty(views.dense, is_pie, views.pie_level, n_boot=n_boot_pies, seed=random_state)
        tables["uncertainty_auroc"] = unc.auc
        tables["uncertainty_images"] = unc.images.assign(image_id=list(image_ids))
    planted = planted_check(meta, hidden_truth, sub.pie_enrichment, image_ids)
    summary = {
        "level_name": level_name,
        "focus_level": focus,
        "binning": f"{N_BINS} equal-mass bins",
        "attributes": {a: int((meta[a] != NA).sum()) for a in meta.columns if a != "patient_id"},
        "subgroups": subgroup_text(sub, focus, level_name),
        "calibration": calibration_text(cal.overall, tail, focus, level_name),
        "uncertainty": uncertainty_text(unc),
        "planted": planted,
    }
    figs = _figure_args(sub, cal, tail, unc, levels, focus, level_name, summary["binning"])
    # a table without columns (no subgroup attribute, no "No Finding") is left out, not written empty
    return WhoSections({k: t for k, t in tables.items() if len(t.columns)}, summary, figs)


def _figure_args(sub, cal, tail, unc, levels, focus, level_name: str, binning: str) -> dict[str, dict]:
    """What each of the sections' figures is drawn from (kept as figure data, so each redraws alone)."""
    show = sorted({float(levels[0]), focus, float(levels[-1])})
    macro = sub.metrics[sub.metrics["class"] == MACRO] if len(sub.metrics) else sub.metrics
    figs = {
        "fig_subgroups": {"macro": macro, "rates": sub.underdiagnosis, "gaps": sub.gaps, "level_name": level_name},
        "fig_calibration": {
            "overall": cal.overall,
            "reliability": cal.reliability,
            "show": show,
            "level_name": level_name,
            "binning": binning,
        },
        "fig_risk_coverage": {"curves": cal.curves, "tail": tail, "show": show, "level_name": level_name},
    }
    if unc is not None:
        figs["fig_uncertainty"] = {"images": unc.images, "auc": unc.auc}
    return figs
