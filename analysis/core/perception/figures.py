"""Perception figures as matplotlib Figure objects, in the forgettability report's style (figures.py).

- fig6_perception: the paper's Figure 6: mean +/- SD per group for each question, pooled answers;
- fig_distributions: stacked answer distributions (percent) per question and group;
- fig_readers: each reader's PIE and non-PIE means joined by a line (a reader-level view of the effect);
- fig_agreement: pairwise exact agreement between readers on shared cases, one matrix per question.
A panel without data says so in words instead of drawing an empty axis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.core.figures import FONT, PALETTE, WIDTH, new_figure, style_axes
from analysis.core.perception.data import GROUPS, QuestionSpec

_TITLES = {"agree_label": "Label correctness", "quality": "Image quality", "difficulty": "Diagnosis difficulty"}
_AXES = {
    "agree_label": "Radiologist score\n(0 = no, 1 = yes)",
    "quality": "Radiologist score\n(1 = poor, ..., 5 = excellent)",
    # Wrapped: on one line it is wider than the last panel and was cut off at the figure's right edge.
    "difficulty": "Radiologist score\n(1 = very easy, ...,\n5 = very difficult)",
}


def _title(q: QuestionSpec) -> str:
    return _TITLES.get(q.key, q.text if len(q.text) < 40 else q.key)


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=FONT["note"], wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _panels(n: int, height: float) -> tuple[Figure, list]:
    fig = new_figure(min(WIDTH * 1.3, max(3.2, 3.2 * n)), height)
    return fig, list(np.atleast_1d(fig.subplots(1, max(n, 1), squeeze=False)[0]))


def fig6_perception(descriptive: pd.DataFrame, questions: list[QuestionSpec]) -> Figure:
    fig, axes = _panels(len(questions), 2.6)
    for ax, q in zip(axes, questions, strict=False):
        rows = descriptive[descriptive["question"] == q.key].set_index("group")
        if rows["mean"].isna().all():
            _empty(ax, f"{_title(q)}\nno answers")
            continue
        for i, group in enumerate(GROUPS):
            m, sd = rows.loc[group, "mean"], rows.loc[group, "sd"]
            if np.isfinite(m):
                ax.errorbar(m, i, xerr=np.nan_to_num(sd), fmt="o", ms=7, capsize=5, color=PALETTE[i], lw=1.6)
        ax.set_yticks([0, 1], [f"{g}\n(n={int(rows.loc[g, 'n'])})" for g in GROUPS])
        ax.set_ylim(-0.6, 1.6)
        ax.invert_yaxis()
        lo, hi = (0, 1) if q.kind == "yes_no" else (1, q.scale)
        ax.set_xlim(lo - 0.5, hi + 0.5)
        style_axes(ax, _AXES.get(q.key, "score"), "", _title(q))
    fig.suptitle("Mean \u00b1 SD of pooled answers", fontsize=FONT["note"])
    return fig


def fig_distributions(distribution: pd.DataFrame, questions: list[QuestionSpec]) -> Figure:
    fig, axes = _panels(len(questions), 2.6)
    for ax, q in zip(axes, questions, strict=False):
        rows = distribution[distribution["question"] == q.key]
        if rows["count"].sum() == 0:
            _empty(ax, f"{_title(q)}\nno answers")
            continue
        for i, group in enumerate(GROUPS):
            part = rows[rows["group"] == group].set_index("value")["percent"].fillna(0)
            left = 0.0
            for j, value in enumerate(q.values):
                width = float(part.get(value, 0.0))
                label = ("no", "yes")[value] if q.kind == "yes_no" else str(value)
                ax.barh(i, width, left=left, color=PALETTE[j % len(PALETTE)], label=label if i == 0 else None)
                left += width
        ax.set_yticks([0, 1], list(GROUPS))
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        style_axes(ax, "% of answers", "", _title(q))
        ax.legend(
            fontsize=FONT["legend"], ncol=len(q.values), loc="upper center", bbox_to_anchor=(0.5, -0.35), frameon=False
        )
    return fig


def fig_readers(answers: pd.DataFrame, questions: list[QuestionSpec]) -> Figure:
    fig, axes = _panels(len(questions), 2.8)
    for ax, q in zip(axes, questions, strict=False):
        rows = answers[answers["question"] == q.key]
        if rows.empty:
            _empty(ax, f"{_title(q)}\nno answers")
            continue
        means = rows.groupby(["reader", "is_pie"])["y"].mean().unstack()
        for k, (reader, m) in enumerate(means.iterrows()):
            ys = [m.get(True, np.nan), m.get(False, np.nan)]
            ax.plot([0, 1], ys, marker="o", color=PALETTE[k % len(PALETTE)], lw=1.2, ms=4, label=str(reader))
        ax.set_xticks([0, 1], list(GROUPS))
        ax.set_xlim(-0.3, 1.3)
        style_axes(ax, "", "Reader mean", _title(q))
    handles, labels = axes[0].get_legend_handles_labels()
    if labels:
        fig.legend(handles, labels, loc="outside right center", fontsize=FONT["legend"], frameon=False, title="Reader")
    return fig


def fig_agreement(pairwise: pd.DataFrame, questions: list[QuestionSpec]) -> Figure:
    fig, axes = _panels(len(questions), 3.0)
    image = None
    for ax, q in zip(axes, questions, strict=False):
        rows = pairwise[(pairwise["question"] == q.key) & (pairwise["n_shared"] > 0)]
        if rows.empty:
            _empty(ax, f"{_title(q)}\nno case read by two readers")
            continue
        readers = sorted(set(rows["reader_a"]) | set(rows["reader_b"]))
        m = rows.pivot(index="reader_a", columns="reader_b", values="agreement_percent").reindex(
            index=readers, columns=readers
        )
        image = ax.imshow(m.to_numpy(float), vmin=0, vmax=100, cmap="viridis")
        ax.set_xticks(range(len(readers)), readers, rotation=90, fontsize=FONT["tick"])
        ax.set_yticks(range(len(readers)), readers, fontsize=FONT["tick"])
        ax.set_title(_title(q), fontsize=FONT["title"])
    if image is not None:
        fig.colorbar(image, ax=axes, label="exact agreement (%)", shrink=0.8)
    return fig
