"""Figure helpers and Figs 1-2 plus the weight-magnitude histogram.

Figures are plain ``matplotlib.figure.Figure`` objects with an Agg canvas: no pyplot, so no
global figure registry or backend state in a web process. Font sizes are passed explicitly
(not through rcParams, which are process-global). Sizes fit a two-column print page (7 in wide)
and stay readable on screen; colours are the Okabe-Ito colourblind-safe palette, and lines also
differ by marker so they survive greyscale printing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from common.files import atomic_write

# Okabe & Ito (2008), without yellow (too pale on white).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3))]
FONT = {"label": 10, "tick": 9, "title": 11, "legend": 8.5, "note": 8.5}
WIDTH = 7.0  # inches: a two-column page
FORMATS = ("png", "svg", "pdf")


def new_figure(width: float = WIDTH, height: float = 3.0) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def style_axes(ax, xlabel: str = "", ylabel: str = "", title: str = "") -> None:
    ax.set_xlabel(xlabel, fontsize=FONT["label"])
    ax.set_ylabel(ylabel, fontsize=FONT["label"])
    if title:
        ax.set_title(title, fontsize=FONT["title"])
    ax.tick_params(labelsize=FONT["tick"])
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def note(ax, text: str, loc: str = "upper left") -> None:
    """A boxed text note in an axes corner (used for correlation statistics)."""
    x, ha = (0.02, "left") if "left" in loc else (0.98, "right")
    y, va = (0.98, "top") if "upper" in loc else (0.02, "bottom")
    ax.text(
        x,
        y,
        text,
        transform=ax.transAxes,
        ha=ha,
        va=va,
        fontsize=FONT["note"],
        bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#999999", "alpha": 0.9},
    )


def stats_title(ax, text: str) -> None:
    """Statistics above the axes, left-aligned, so they never hide data points."""
    ax.set_title(text, loc="left", fontsize=FONT["note"], linespacing=1.25)


def save_figure(
    fig: Figure, path_stem: str | os.PathLike, formats: Sequence[str] = FORMATS, dpi: int = 200
) -> list[Path]:
    """Write ``fig`` as ``path_stem.<fmt>`` for each format, atomically; returns the paths.

    Dates are left out of PDF/SVG metadata so identical figures give identical files.
    """
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    meta = {"pdf": {"CreationDate": None}, "svg": {"Date": None}}
    out = []
    for fmt in formats:
        final = stem.with_name(f"{stem.name}.{fmt}")
        # No bbox_inches="tight": constrained layout already fits every label inside the
        # figure, so the file keeps its print size, and a second draw per file is saved.
        atomic_write(final, lambda f, fmt=fmt: fig.savefig(f, format=fmt, dpi=dpi, metadata=meta.get(fmt)))
        out.append(final)
    return out


def fig_overall(overall: pd.DataFrame | Mapping[str, pd.DataFrame]) -> Figure:
    """Fig 1: mAUC, mAP and mF1 vs sparsity; median over seeds, band = interquartile range.

    ``overall`` is one overall table (columns seed, sparsity, mauc, map, mf1) or a mapping
    experiment name -> table, drawn as one line each.
    """
    tables = {"": overall} if isinstance(overall, pd.DataFrame) else dict(overall)
    fig = new_figure(WIDTH, 2.7)
    axes = fig.subplots(1, 3)
    for ax, (col, name) in zip(axes, [("mauc", "Mean AUROC"), ("map", "Mean AP"), ("mf1", "Mean F1")], strict=True):
        for i, (exp, t) in enumerate(tables.items()):
            g = t.groupby("sparsity")[col]
            med, lo, hi = g.median(), g.quantile(0.25), g.quantile(0.75)
            n = t["seed"].nunique()
            color = PALETTE[i % len(PALETTE)]
            label = f"{exp} (median of {n} seeds)" if exp else f"median of {n} seeds"
            ax.fill_between(med.index, lo, hi, color=color, alpha=0.2, linewidth=0)
            ax.plot(med.index, med, color=color, marker=MARKERS[i % 7], ms=3.5, lw=1.6, label=label)
        style_axes(ax, "Sparsity", name)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        [lab + "; band: IQR" for lab in labels],
        loc="outside lower center",
        ncol=min(3, len(labels)),
        fontsize=FONT["legend"],
        frameon=False,
    )
    return fig


def default_classes(
    class_names: Sequence[str], train_freq: np.ndarray, k: int = 6, skip: Sequence[str] = ()
) -> list[str]:
    """A spread of ``k`` classes from the most to the least frequent in training (``skip`` left out)."""
    order = np.argsort(-np.asarray(train_freq, dtype=float), kind="stable")
    order = np.array([i for i in order if class_names[i] not in set(skip)], dtype=int)
    if not order.size:
        return []
    picks = np.unique(np.round(np.linspace(0, len(order) - 1, min(k, len(order)))).astype(int))
    return [class_names[order[i]] for i in picks]


def fig_curves(
    sparsities: np.ndarray,
    rel_ap: np.ndarray,
    rel_auc: np.ndarray,
    class_names: Sequence[str],
    train_freq: np.ndarray,
    classes: Sequence[str] | None = None,
    n_seeds: int | None = None,
    not_estimable: Sequence[str] = (),
) -> Figure:
    """Fig 2: forgettability curves (median over seeds of per-seed relative change) for classes.

    ``not_estimable`` classes (no positive test image, so no AP) get no curve and no legend entry;
    a footnote names the ones that were asked for.
    """
    names = list(class_names)
    chosen = list(classes) if classes else default_classes(names, train_freq, skip=not_estimable)
    unknown = [c for c in chosen if c not in names]
    if unknown:
        raise ValueError(f"classes to plot not in class_names: {unknown}")
    dropped = [c for c in chosen if c in set(not_estimable)]
    chosen = [c for c in chosen if c not in set(not_estimable)]
    fig = new_figure(WIDTH, 3.3)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, data, metric in [(axes[0], rel_ap, "AP"), (axes[1], rel_auc, "AUROC")]:
        for i, cname in enumerate(chosen):
            j = names.index(cname)
            ax.plot(
                sparsities,
                data[:, j],
                color=PALETTE[i % 7],
                marker=MARKERS[i % 7],
                linestyle=LINESTYLES[i % 7],
                ms=3.5,
                lw=1.6,
                label=f"{cname} (n={int(train_freq[j]):,})",
            )
        ax.axhline(0, color="#555555", lw=0.8)
        if metric == "AP":
            ax.axhline(-0.2, color="#555555", lw=0.8, ls=":")
        style_axes(ax, "Sparsity", f"Relative change in {metric}")
        ax.tick_params(labelleft=True)
    seeds = f" over {n_seeds} seeds" if n_seeds else ""
    fig.legend(
        *axes[0].get_legend_handles_labels(),
        loc="outside right center",
        fontsize=FONT["legend"],
        title=f"Class (train n)\nmedian{seeds}",
        title_fontsize=FONT["legend"],
        frameon=False,
    )
    if dropped:
        fig.text(
            0.01, 0.005, f"Not estimable (no positive test images), not drawn: {', '.join(dropped)}",
            fontsize=FONT["note"], ha="left", va="bottom",
        )  # fmt: skip
    return fig


def weight_histogram(weights: Sequence[np.ndarray], bins: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Counts and edges of |w| over all arrays (e.g. every Conv2d and Linear weight), no concat."""
    arrays = [np.asarray(w) for w in weights]
    if not arrays:
        raise ValueError("weights is empty: pass the Conv2d and Linear weight arrays")
    top = max(float(np.abs(a).max()) if a.size else 0.0 for a in arrays)
    edges = np.linspace(0.0, top if top > 0 else 1.0, bins + 1)
    counts = sum(np.histogram(np.abs(a), bins=edges)[0] for a in arrays)
    return np.asarray(counts), edges


def fig_weights(weights: Sequence[np.ndarray] | Mapping[str, Sequence[np.ndarray]]) -> Figure:
    """Histogram of weight magnitudes (log counts), one panel per model when given a mapping."""
    models = dict(weights) if isinstance(weights, Mapping) else {"": weights}
    return fig_weight_histograms({name: weight_histogram(ws) for name, ws in models.items()})


def fig_weight_histograms(hists: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """:func:`fig_weights` from (counts, edges) per model (what the report keeps to redraw it)."""
    fig = new_figure(min(WIDTH, 3.4 * len(hists)), 2.8)
    axes = np.atleast_1d(fig.subplots(1, len(hists), sharey=True))
    for i, (ax, (name, (counts, edges))) in enumerate(zip(axes, hists.items(), strict=True)):
        counts = np.asarray(counts)
        ax.stairs(counts, np.asarray(edges), fill=True, color=PALETTE[i % 7], alpha=0.85)
        ax.set_yscale("log")
        style_axes(ax, "|weight|", "Count" if i == 0 else "", name)
        note(ax, f"{int(counts.sum()):,} weights", "upper right")
    return fig
