"""Figures of the cross-method report: forgetting curves side by side, the Pareto fronts of mAP and
tail AP against each measured cost, and the PIE overlap between methods."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .methods import COST_KEYS

COST_LABELS = {
    "params": "parameters",
    "nonzeros": "non-zero parameters",
    "file_bytes": "file size (bytes)",
    "latency_ms_b1": "latency, batch 1 (ms)",
    "latency_ms_b64": "latency, batch 64 (ms)",
}


def curves_figure(cmp) -> Figure:
    methods = list(dict.fromkeys(cmp.curves["method"]))
    fig = Figure(figsize=(3.2 * len(methods), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(methods), sharey=True, squeeze=False)[0])
    logf = np.log10(np.maximum(cmp.train_counts, 1))
    norm = (logf - logf.min()) / (np.ptp(logf) or 1)
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    for ax, m in zip(axes, methods, strict=True):
        sub = cmp.curves[cmp.curves["method"] == m]
        for j, name in enumerate(cmp.class_names):
            c = sub[sub["class"] == name].sort_values("level")
            tail = j in set(cmp.tail.tolist())
            ax.plot(c["level"], c["rel_change"], color=cmap(norm[j]), lw=1.6 if tail else 0.8, ls="-" if tail else ":")
        ax.set_title(m, fontsize=9)
        ax.set_xlabel("level")
        ax.axhline(0, color="#999999", lw=0.5)
    axes[0].set_ylabel("relative AP change (median over seeds)")
    fig.suptitle("Per-class forgetting (colour: log train frequency; solid: tail classes)", fontsize=9)
    return fig


def pareto_figure(cmp) -> Figure:
    q = cmp.quality
    keys = [k for k in COST_KEYS if q[k].notna().any()]
    fig = Figure(figsize=(3.0 * max(1, len(keys)), 5.6), layout="constrained")
    if not keys:
        fig.text(0.5, 0.5, "no costs were measured", ha="center")
        return fig
    grid = fig.subplots(2, len(keys), squeeze=False)
    for col, key in enumerate(keys):
        for row, metric in enumerate(("mAP", "tail_AP")):
            ax = grid[row][col]
            for m, sub in q.groupby("method", sort=False):
                sub = sub.sort_values("level")
                ax.plot(sub[key], sub[metric], marker="o", ms=3, lw=1, label=m)
            front = q[q[f"pareto_{metric}_{key}"]].sort_values(key)
            ax.plot(front[key], front[metric], color="black", lw=0.8, ls="--", drawstyle="steps-post")
            ax.set_xscale("log")
            ax.set_xlabel(COST_LABELS[key], fontsize=8)
            ax.set_ylabel(metric.replace("_", " "), fontsize=8)
    grid[0][0].legend(fontsize=7)
    fig.suptitle("Quality against cost, one curve per method (dashed: Pareto front)", fontsize=9)
    return fig


def overlap_figure(cmp) -> Figure:
    ov = cmp.overlap
    methods = list(dict.fromkeys(list(ov["method_a"]) + list(ov["method_b"])))
    fig = Figure(figsize=(1.2 + 0.9 * max(2, len(methods)), 1.0 + 0.8 * max(2, len(methods))), layout="constrained")
    ax = fig.subplots()
    if not methods:
        ax.text(0.5, 0.5, "fewer than two methods with PIEs", ha="center")
        ax.set_axis_off()
        return fig
    mat = np.eye(len(methods))
    text = {}
    for _, r in ov.iterrows():
        i, j = methods.index(r["method_a"]), methods.index(r["method_b"])
        mat[i, j] = mat[j, i] = r["jaccard"]
        text[(i, j)] = text[(j, i)] = f"{r['jaccard']:.2f}\n(rand {r['baseline']:.2f})"
    ax.imshow(mat, vmin=0, vmax=1, cmap="Blues")
    for (i, j), t in text.items():
        ax.text(j, i, t, ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(methods)), methods, fontsize=8)
    ax.set_title("PIE overlap (Jaccard; random-set baseline)", fontsize=9)
    return fig


FIGURES = {"methods_curves": curves_figure, "methods_pareto": pareto_figure, "methods_pie_overlap": overlap_figure}
