"""Fig 5: PIE vs non-PIE class prevalence, number of diseases and (synthetic) hidden truth."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .figures import FONT, PALETTE, WIDTH, new_figure, note, style_axes
from .pies import PieCharacterisation


def _p(v) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    return "p < 0.001" if v < 0.001 else f"p = {v:.3f}"


def _top(ratio: np.ndarray) -> float:
    finite = ratio[np.isfinite(ratio)]
    return max(float(finite.max()) if finite.size else 1.0, 1.0)


def _ratio_bars(ax, labels, ratio: np.ndarray, rotate: bool) -> None:
    """Bars of PIE:non-PIE ratios; non-finite ratios get a text marker instead of a bar."""
    x = np.arange(len(labels))
    finite = np.isfinite(ratio)
    ax.bar(x[finite], ratio[finite], color=PALETTE[0], width=0.7, zorder=3)
    top = float(np.nanmax(ratio[finite])) if finite.any() else 1.0
    for i in np.flatnonzero(~finite | (ratio == 0)):
        txt = "0" if ratio[i] == 0 else ("∞" if ratio[i] > 0 else "n/a")
        ax.text(i, 0.02 * max(top, 1), txt, ha="center", va="bottom", fontsize=FONT["note"])
    ax.axhline(1.0, color="black", ls="--", lw=1)
    ax.set_xticks(x)
    if rotate:
        ax.set_xticklabels(labels, rotation=55, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticklabels(labels)


def fig_pies(pc: PieCharacterisation) -> Figure:
    """Fig 5: a) prevalence ratio per class, b) disease-count ratio, c) hidden truth if known."""
    has_truth = pc.enrichment is not None
    fig = new_figure(WIDTH, 5.8)
    grid = fig.add_gridspec(2, 2 if has_truth else 1, height_ratios=[1.15, 1])
    ax_a = fig.add_subplot(grid[0, :])
    prev = pc.prevalence
    _ratio_bars(ax_a, prev["class"].tolist(), prev["ratio"].to_numpy(dtype=float), rotate=True)
    style_axes(ax_a, "", "PIE : non-PIE\nprevalence ratio")
    ax_a.set_title(
        f"a) Class prevalence ({pc.n_pies} PIEs of {pc.n_images} images)", loc="left", fontsize=FONT["title"]
    )
    ax_a.tick_params(axis="x", labelsize=FONT["tick"] - 0.5)

    ax_b = fig.add_subplot(grid[1, 0])
    dc = pc.disease_counts
    _ratio_bars(ax_b, dc["n_diseases"].tolist(), dc["ratio"].to_numpy(dtype=float), rotate=False)
    t = pc.disease_count_test
    style_axes(ax_b, "Number of diseases (No Finding excluded)", "PIE : non-PIE ratio")
    ax_b.set_title("b) Diseases per image", loc="left", fontsize=FONT["title"])
    note(ax_b, f"Mann-Whitney {_p(t.get('p'))}", "upper right")
    ax_b.set_ylim(0, _top(dc["ratio"].to_numpy(dtype=float)) * 1.25)
    if has_truth:
        _truth_panel(fig.add_subplot(grid[1, 1]), pc.enrichment)
    return fig


def _truth_panel(ax, e: dict) -> None:
    """Rates of hidden label noise and low quality, PIEs vs non-PIEs, with test p-values."""
    rows = [("Label noise", e["label_noise"]), ("Quality ≤ 2", e["low_quality"])]
    x = np.arange(len(rows))
    w = 0.36
    pie = [r["pie_rate"] or 0.0 for _, r in rows]
    non = [r["non_pie_rate"] or 0.0 for _, r in rows]
    ax.bar(x - w / 2, pie, w, color=PALETTE[1], label="PIE", zorder=3)
    ax.bar(x + w / 2, non, w, color=PALETTE[0], label="non-PIE", zorder=3, hatch="//", edgecolor="white")
    top = max(pie + non + [0.05])
    for i, (_, r) in enumerate(rows):
        ax.text(
            i, max(pie[i], non[i]) + 0.03 * top, f"Fisher {_p(r['p'])}", ha="center", va="bottom", fontsize=FONT["note"]
        )
    q = e["quality"]
    ax.set_xticks(x)
    ax.set_xticklabels([name for name, _ in rows])
    style_axes(ax, "", "Share of images")
    ax.set_ylim(0, top * 1.55)
    ax.set_title("c) Hidden truth (synthetic)", loc="left", fontsize=FONT["title"])
    ax.legend(fontsize=FONT["legend"], loc="upper center", ncol=2, frameon=False)
    if q["pie_mean"] is not None and q["non_pie_mean"] is not None:
        ax.set_xlabel(
            f"Mean quality: PIE {q['pie_mean']:.2f}, non-PIE {q['non_pie_mean']:.2f}\n(Mann-Whitney {_p(q['p'])})",
            fontsize=FONT["note"],
        )
