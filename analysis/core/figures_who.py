"""Figures of the "who is forgotten" sections: subgroups, calibration, selective prediction, uncertainty."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .figures import FONT, MARKERS, PALETTE, WIDTH, note, style_axes


def _figure(height: float, **margins) -> Figure:
    """A figure with fixed margins: constrained layout costs more than drawing these simple panels."""
    fig = Figure(figsize=(WIDTH, height))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(**({"left": 0.09, "right": 0.98, "top": 0.9, "bottom": 0.17, "wspace": 0.4} | margins))
    return fig


def _title(ax, text: str) -> None:
    ax.set_title(text, loc="left", fontsize=FONT["title"])


def fig_subgroups(macro: pd.DataFrame, rates: pd.DataFrame, gaps: pd.DataFrame, level_name: str) -> Figure:
    """Per attribute (rows): macro AUROC per subgroup, underdiagnosis rate with 95% CI, change of the gap."""
    attrs = list(dict.fromkeys(macro["attribute"])) if len(macro) else []
    rows = max(1, len(attrs))
    fig = _figure(2.3 * rows, left=0.1, top=1 - 0.3 / (2.3 * rows), bottom=0.5 / (2.3 * rows), hspace=0.55, wspace=0.5)
    if not attrs:
        ax = fig.add_subplot(1, 1, 1)
        ax.axis("off")
        ax.text(0.5, 0.5, "No subgroup attributes available", ha="center", va="center")
        return fig
    axes = fig.subplots(len(attrs), 3, squeeze=False)
    for r, attr in enumerate(attrs):
        a, b, c = axes[r]
        for k, (g, part) in enumerate(macro[macro["attribute"] == attr].groupby("group", sort=True)):
            a.plot(part["level"], part["auc"], marker=MARKERS[k % 7], ms=3, color=PALETTE[k % 7], label=g)
        style_axes(a, level_name if r == len(attrs) - 1 else "", "macro AUROC")
        _title(a, f"{attr}: AUROC")
        a.legend(fontsize=FONT["legend"] - 1, frameon=False)
        sub = rates[rates["attribute"] == attr] if len(rates) else rates
        for k, (_g, part) in enumerate(sub.groupby("group", sort=True) if len(sub) else []):
            b.plot(part["level"], part["rate"], color=PALETTE[k % 7], marker=MARKERS[k % 7], ms=3)
            b.fill_between(part["level"], part["ci_lo"], part["ci_hi"], color=PALETTE[k % 7], alpha=0.15, lw=0)
        style_axes(b, level_name if r == len(attrs) - 1 else "", "false No Finding")
        _title(b, "underdiagnosis")
        if not len(sub):
            note(b, "not estimable")
        gsub = gaps[gaps["attribute"] == attr] if len(gaps) else gaps
        for k, (g, part) in enumerate(gsub.groupby("group", sort=True) if len(gsub) else []):
            lab = f"{g} - {part['reference'].iloc[0]}"
            c.plot(part["level"], part["change_from_dense"], color=PALETTE[(k + 1) % 7], label=lab)
            c.fill_between(
                part["level"], part["change_ci_lo"], part["change_ci_hi"], color=PALETTE[(k + 1) % 7], alpha=0.15, lw=0
            )
        c.axhline(0, color="black", lw=0.8, ls="--")
        style_axes(c, level_name if r == len(attrs) - 1 else "", "gap change vs dense")
        _title(c, "gap widening")
        if len(gsub):
            c.legend(fontsize=FONT["legend"] - 1, frameon=False)
    return fig


def fig_calibration(
    overall: pd.DataFrame, reliability: pd.DataFrame, show: list[float], level_name: str, binning: str
) -> Figure:
    """a) reliability diagram (pooled, equal-mass bins) at a few levels; b) ECE and Brier vs level."""
    fig = _figure(3.0, wspace=0.3)
    a, b = fig.subplots(1, 2)
    a.plot([0, 1], [0, 1], color="black", lw=0.8, ls="--")
    for k, lev in enumerate(show):
        part = reliability[np.isclose(reliability["level"], lev)]
        a.plot(part["mean_score"], part["positive_rate"], marker=MARKERS[k], ms=3, color=PALETTE[k], label=f"{lev:g}")
    style_axes(a, "mean score in bin", "positive rate in bin")
    _title(a, "a) Reliability")
    a.legend(title=level_name, fontsize=FONT["legend"], frameon=False)
    b.plot(overall["level"], overall["ece"], marker="o", ms=3, color=PALETTE[0], label="ECE (pooled)")
    b.plot(overall["level"], overall["ece_class_mean"], marker="s", ms=3, color=PALETTE[2], label="ECE (class mean)")
    b.plot(overall["level"], overall["brier"], marker="^", ms=3, color=PALETTE[1], label="Brier")
    style_axes(b, level_name, "")
    _title(b, "b) ECE and Brier")
    b.legend(fontsize=FONT["legend"], frameon=False)
    a.text(0.98, 0.02, binning.split(";")[0], transform=a.transAxes, ha="right", va="bottom", fontsize=FONT["note"] - 1)
    return fig


def fig_risk_coverage(curves: pd.DataFrame, tail: pd.DataFrame, show: list[float], level_name: str) -> Figure:
    """a) pooled risk-coverage curves at a few levels; b) AURC vs level, head vs tail classes."""
    fig = _figure(3.0, wspace=0.3)
    a, b = fig.subplots(1, 2)
    for k, lev in enumerate(show):
        part = curves[np.isclose(curves["level"], lev)]
        a.plot(part["coverage"], part["risk"], color=PALETTE[k], label=f"{lev:g}")
    style_axes(a, "coverage", "risk (error rate)")
    _title(a, "a) Risk-coverage")
    a.legend(title=level_name, fontsize=FONT["legend"], frameon=False)
    for k, (grp, part) in enumerate(tail.groupby("classes", sort=False)):
        b.plot(part["level"], part["aurc"], marker=MARKERS[k], ms=3, color=PALETTE[k], label=grp)
    style_axes(b, level_name, "AURC")
    _title(b, "b) AURC: head vs tail classes")
    b.legend(fontsize=FONT["legend"], frameon=False)
    return fig


def fig_uncertainty(images: pd.DataFrame, auc: pd.DataFrame) -> Figure:
    """Dense-model uncertainty of PIEs vs non-PIEs, one panel per measure, AUROC in the title."""
    fig = _figure(2.6, bottom=0.2, wspace=0.35)
    axes = fig.subplots(1, 3)
    table = auc.set_index("measure")
    for ax, m in zip(axes, ["entropy", "low_margin", "disagreement"], strict=True):
        v = images[m].to_numpy(float)
        if not np.isfinite(v).any():
            ax.axis("off")
            ax.text(0.5, 0.5, f"{m}: not estimable\n(needs 2+ seeds)", ha="center", va="center", fontsize=FONT["note"])
            continue
        pie = images["is_pie"].to_numpy(bool)
        bins = np.linspace(np.nanmin(v), np.nanmax(v) + 1e-12, 30)
        ax.hist(v[~pie], bins=bins, density=True, alpha=0.55, color=PALETTE[0], label="non-PIE")
        ax.hist(v[pie], bins=bins, density=True, alpha=0.55, color=PALETTE[1], label="PIE")
        au = table.loc[m, "auroc"]
        style_axes(ax, m.replace("_", " "), "density" if m == "entropy" else "")
        _title(ax, f"AUROC {au:.2f}" if np.isfinite(au) else "AUROC n/a")
        ax.legend(fontsize=FONT["legend"] - 1, frameon=False)
    return fig
