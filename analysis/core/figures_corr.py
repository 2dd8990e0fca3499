"""Figs 3 and 4: frequency and co-occurrence against forgettability, statistics written in."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .figures import FONT, PALETTE, WIDTH, new_figure, stats_title, style_axes
from .stats import Correlation


def _fit_line(ax, x: np.ndarray, y: np.ndarray) -> None:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0:
        return
    slope, icpt = np.polyfit(x[ok], y[ok], 1)
    xs = np.linspace(x[ok].min(), x[ok].max(), 50)
    ax.plot(xs, icpt + slope * xs, color=PALETTE[1], ls="--", lw=1.4, label="least-squares fit")


def _label_extremes(ax, names, x, y) -> None:
    """Name the most and least frequent classes (the paper's No Finding / Hernia call-outs)."""
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if ok.size < 2:
        return
    # Most frequent: text to the lower left; least frequent: to the upper right (off the points).
    for i, (dx, dy, ha) in ((ok[np.argmax(y[ok])], (-18, -16, "right")), (ok[np.argmin(y[ok])], (14, 8, "left"))):
        ax.annotate(
            names[i],
            (x[i], y[i]),
            xytext=(dx, dy),
            textcoords="offset points",
            ha=ha,
            fontsize=FONT["note"],
            color="#333333",
            arrowprops={"arrowstyle": "-", "color": "#777777", "lw": 0.6},
        )


def fig_frequency(summary: pd.DataFrame, corr_drop: Correlation, corr_delta: Correlation, delta_label: str) -> Figure:
    """Fig 3: log train frequency vs first 20% AP drop and vs relative AP change at high sparsity.

    ``summary`` has columns class, train_freq, first_drop_20, delta_ap_95 (and ``estimable``).
    Classes that never lose 20% are drawn hollow at the right edge ("never") and left out of the
    statistics. Classes without a positive test image have no AP: they are not drawn at all, and a
    footnote names them ("not estimable").
    """
    names = summary["class"].tolist()
    logf = np.log(summary["train_freq"].to_numpy(dtype=float).clip(min=np.nextafter(0, 1)))
    logf[summary["train_freq"].to_numpy() <= 0] = np.nan
    estimable = summary["estimable"].to_numpy(bool) if "estimable" in summary else np.ones(len(names), bool)
    logf[~estimable] = np.nan
    drop = summary["first_drop_20"].to_numpy(dtype=float)
    delta = summary["delta_ap_95"].to_numpy(dtype=float)
    fig = new_figure(WIDTH, 3.6)
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    ax1.scatter(drop, logf, s=36, color=PALETTE[0], edgecolor="white", lw=0.5, zorder=3)
    never = ~np.isfinite(drop) & np.isfinite(logf)
    text = corr_drop.label()
    if never.any():
        # Classes that never lose 20% sit hollow in a "never" column right of the data.
        right = (np.nanmax(drop) if np.isfinite(drop).any() else 0.95) + 0.1
        ax1.scatter(np.full(never.sum(), right), logf[never], s=36, facecolor="none", edgecolor=PALETTE[0], zorder=3)
        ax1.annotate(
            "never",
            (right, np.nanmax(logf[never])),
            xytext=(0, 6),
            textcoords="offset points",
            ha="center",
            fontsize=FONT["note"],
        )
        text += f"\nhollow: never fell 20% (n={int(never.sum())}), not in r, ρ"
    _fit_line(ax1, drop, logf)
    _label_extremes(ax1, names, drop, logf)
    style_axes(ax1, "First sparsity with\na 20% drop in AP", "Log train class frequency")
    stats_title(ax1, text)
    ax2.scatter(delta, logf, s=36, color=PALETTE[0], edgecolor="white", lw=0.5, zorder=3)
    _fit_line(ax2, delta, logf)
    _label_extremes(ax2, names, delta, logf)
    style_axes(ax2, f"Relative change in AP\nat {delta_label}")
    ax2.tick_params(labelleft=True)
    stats_title(ax2, corr_delta.label())
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(5))
    if not estimable.all():
        missing = ", ".join(n for n, e in zip(names, estimable, strict=True) if not e)
        fig.text(0.01, 0.005, f"Not estimable (no positive test images), not drawn: {missing}", fontsize=FONT["note"])
    return fig


def fig_fcd(pairs: pd.DataFrame, corrs: Mapping[str, Correlation]) -> Figure:
    """Fig 4: FCD vs |diff log frequency| and vs IoU^(1/4), paper and standard definitions.

    ``corrs`` holds keys fcd_vs_log_freq_diff_{paper,standard}, fcd_vs_iou_quarter_{paper,standard}.
    """
    fig = new_figure(WIDTH, 7.4)
    rows = [
        ("paper", "log_freq_diff", "iou_paper", "Paper definitions (column sums of YᵀY, test set)"),
        (
            "standard",
            "log_freq_diff_standard",
            "iou_standard",
            "Standard definitions (class counts; |A∩B| / |A∪B|, test set): sensitivity analysis",
        ),
    ]
    fcd = pairs["fcd"].to_numpy(dtype=float)
    for sub, (key, fcol, icol, title) in zip(fig.subfigures(2, 1, hspace=0.04), rows, strict=True):
        sub.suptitle(title, fontsize=FONT["title"], x=0.01, ha="left")
        axes = sub.subplots(1, 2, sharey=True)
        xs = [
            (pairs[fcol].to_numpy(dtype=float), "|Difference in log class frequency|", "log_freq_diff"),
            (pairs[icol].to_numpy(dtype=float) ** 0.25, "(IoU between classes)$^{1/4}$", "iou_quarter"),
        ]
        for c, (x, xlabel, stat) in enumerate(xs):
            ax = axes[c]
            ax.scatter(x, fcd, s=14, color=PALETTE[0], alpha=0.7, edgecolor="none", zorder=3)
            _fit_line(ax, x, fcd)
            style_axes(ax, xlabel, "Forgettability curve\ndissimilarity (FCD)" if c == 0 else "")
            ax.tick_params(labelleft=True)
            cr = corrs[f"fcd_vs_{stat}_{key}"]
            text = cr.label()
            if cr.mantel_r_p is not None:
                text += f"\nMantel permutation p: r {cr.mantel_r_p:.3f}, ρ {cr.mantel_rho_p:.3f}"
            stats_title(ax, text)
    return fig
