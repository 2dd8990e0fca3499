"""One call from predictions and labels to every table, statistic and figure of the report.

``compute_report(...)`` returns a :class:`ForgettabilityReport`; ``ForgettabilityReport.write(out_dir)`` writes

    class_metrics.csv   seed, sparsity, class, auc, ap, f1
    overall.csv         seed, sparsity, mauc, map, mf1
    forgettability.csv  class, sparsity, median_rel_change_ap, median_rel_change_auc
    class_summary.csv   class, train_freq, test_freq, first_drop_20, delta_ap_95, estimable
    fcd_pairs.csv       class_a, class_b, fcd, log_freq_diff, iou_paper, iou_standard,
                        log_freq_diff_standard
    pies.csv            image_index, image_id, correlation, is_pie (only with a PIE table)
    metadata.csv, subgroup_*.csv, underdiagnosis.csv, pie_subgroups.csv, calibration*.csv,
    reliability.csv, risk_coverage.csv, aurc_head_tail.csv, uncertainty_*.csv
                        the "who is forgotten" sections (analysis.core.who; summary.json["who"])
    summary.json        every correlation (r, r_p, r_ci, rho, rho_p, rho_ci, n, ...), n_pies,
                        dense mAP, PIE characterisation, conventions and definitions
    <figure>.png        for each name in ForgettabilityReport.figures (FIGURE_NAMES order); SVG and PDF too
                        when asked for (``formats``), else drawn on first download from
    .figure_data.json   the arguments of every figure (analysis.core.figure_data.render_figure)

Empty cells in the CSVs are missing values (e.g. first_drop_20 of a class that never drops 20%).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from common.csvsafe import frame_csv_text  # pure (no Django), shared with the reader-study exports' rules
from common.files import atomic_write_text
from common.jsonsafe import json_safe

from . import forgettability as fg
from .figure_data import build_figure, write_figure_data
from .figures import save_figure, weight_histogram
from .metrics import ClassMetrics, Progress, metrics_frame, metrics_table, overall_table
from .pies import PieCharacterisation, align_hidden_truth, characterise_pies, pie_mask
from .stats import Correlation, correlate, mantel_p
from .validate import ReportInputError, validate_inputs
from .who import WHO_FIGURES, SeedViews, WhoSections, compute_who

__all__ = ["FIGURE_NAMES", "ForgettabilityReport", "ReportInputError", "compute_report"]

FIGURE_NAMES = (
    "fig1_overall", "fig2_curves", "fig3_frequency", "fig4_cooccurrence", "fig5_pies", "fig_weights", *WHO_FIGURES,
)  # fmt: skip

CONVENTIONS = {
    "no_positive_class": "AUROC, AP and F1 are NaN for a class without positive test images and "
    "are skipped by every mean (sklearn would give AUROC nan, AP 0.0, F1 0.0).",
    "no_negative_class": "AUROC NaN, AP 1.0 (sklearn's value).",
    "f1_threshold": "positive iff score > 0.5 (the paper's y_hat.round(); 0.5 rounds to 0).",
    "relative_change": "per seed (m_k - m_0) / m_0, then the median over seeds (NaN if m_0 == 0).",
    "first_drop_20": "smallest sparsity > 0 with median relative AP change < -0.2; missing if never.",
    "not_estimable": "a class without positive test images has no AP, so no forgettability: it is listed "
    "under not_estimable, left out of every correlation, not counted as 'never drops 20%' and not plotted.",
    "delta_ap_95": "median relative AP change at 95% sparsity, else at the largest sparsity (see delta_ap_sparsity).",
    "log": "natural logarithm; classes with zero count get no log frequency and are excluded.",
    "bootstrap": "percentile CIs from resampling pairs with replacement (seeded).",
    "fcd_p_values": "pair-level p-values treat the C(C-1)/2 class pairs as independent; the "
    "Mantel permutation p-values (class labels permuted) do not.",
}
DEFINITIONS = {
    "paper": "test labels Y, K = Y^T Y; frequency of a = column sum of K; IoU(a,b) = K[a,b] / "
    "(colsum_a + colsum_b - K[a,b]) -- as the paper's code computes them.",
    "standard": "test labels; frequency = class count; IoU = |A and B| / |A or B| (sensitivity analysis).",
    "fig3_frequency": "train class counts (from labels_train or train_counts).",
}


@dataclass
class ForgettabilityReport:
    experiment: str
    class_metrics: pd.DataFrame
    overall: pd.DataFrame
    forgettability: pd.DataFrame
    class_summary: pd.DataFrame
    fcd_pairs: pd.DataFrame
    pies: pd.DataFrame | None
    summary: dict
    correlations: dict[str, Correlation]
    pie_characterisation: PieCharacterisation | None
    figure_args: dict[str, dict] = field(default_factory=dict)  # name -> arguments of its builder
    who: WhoSections | None = None  # subgroups, calibration, uncertainty (analysis.core.who)

    @cached_property
    def figures(self) -> dict[str, Figure]:
        """Every figure, drawn on first use (FIGURE_NAMES order)."""
        return {name: build_figure(name, args) for name, args in self.figure_args.items()}

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {
            "class_metrics": self.class_metrics,
            "overall": self.overall,
            "forgettability": self.forgettability,
            "class_summary": self.class_summary,
            "fcd_pairs": self.fcd_pairs,
        }
        if self.pies is not None:
            out["pies"] = self.pies
        if self.who is not None:
            out |= self.who.tables
        return out

    def write(self, out_dir: str | os.PathLike, formats: Sequence[str] = ("png",)) -> list[Path]:
        """Write every table, summary.json, every figure in ``formats`` and the figures' data
        (SVG/PDF are drawn from it on first download), atomically; returns the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, table in self.tables().items():
            paths.append(atomic_write_text(out / f"{name}.csv", frame_csv_text(table)))
        text = json.dumps(json_safe(self.summary), indent=2, allow_nan=False, default=str)
        paths.append(atomic_write_text(out / "summary.json", text + "\n"))
        for name, fig in self.figures.items():
            paths.extend(save_figure(fig, out / name, formats))
        if self.figure_args:
            paths.append(write_figure_data(out, self.figure_args))
        return paths


def compute_report(
    probs: np.ndarray | None,
    labels_test: np.ndarray | pd.DataFrame,
    labels_train: np.ndarray | pd.DataFrame,
    sparsities: Sequence[float],
    class_names: Sequence[str],
    pie_table: pd.DataFrame | None = None,
    hidden_truth: pd.DataFrame | None = None,
    seeds: Sequence[int] | None = None,
    image_ids: Sequence[str] | None = None,
    *,
    weights: Sequence[np.ndarray] | Mapping[str, Sequence[np.ndarray]] | None = None,
    experiment: str = "",
    classes_to_plot: Sequence[str] | None = None,
    n_boot: int = 2000,
    n_perm: int = 999,
    random_state: int = 0,
    progress: Progress | None = None,
    metrics: ClassMetrics | None = None,
    metadata: pd.DataFrame | None = None,
    ensemble: np.ndarray | None = None,
    seed_views: SeedViews | None = None,
    pie_level: float | None = None,
    level_name: str = "sparsity",
    n_boot_who: int = 1000,
    n_boot_pies: int = 10,
    who: bool = True,
) -> ForgettabilityReport:
    """Compute the whole forgettability + PIE report.

    probs [seeds, S, N, C] sigmoid outputs (or [S, N, C] for one seed); labels_test [N, C] 0/1
    (a DataFrame is reduced to the class columns); labels_train [M, C] 0/1 or train class counts
    [C]; sparsities [S] in any order, must include 0; pie_table from the engine's PIE selection;
    hidden_truth (synthetic data) with label_noise and quality, aligned by image_id, image_index
    or position; weights: Conv2d + Linear weight arrays (or name -> arrays) for the histogram.
    With ``probs=None``, ``metrics`` gives the per-class AUROC/AP/F1 [seeds, S, C] instead
    (computed seed by seed, e.g. by analysis.core.streaming.SeedAccumulator): the same report.
    The "who is forgotten" sections (``metadata``: per-image attributes, ``common.metadata`` layout)
    need the scores: from ``probs``, or streamed as ``ensemble`` [S, N, C] (seed mean, levels
    ascending) plus ``seed_views`` (analysis.core.who.SeedViewCollector); without either they are skipped.
    """
    v = validate_inputs(probs, labels_test, labels_train, sparsities, class_names, seeds, image_ids, metrics)
    names, n_sets = v.class_names, len(v.seeds) * len(v.sparsities)
    total = n_sets + 3

    def step(done: int, msg: str) -> None:
        if progress is not None:
            progress(done, total, msg)

    cm = _class_metrics(v, progress, step)
    overall = overall_table(cm)
    shape = (len(v.seeds), len(v.sparsities), len(names))
    ap, auc = cm["ap"].to_numpy().reshape(shape), cm["auc"].to_numpy().reshape(shape)
    fr = fg.compute_forgettability(ap, auc, v.sparsities, names)
    step(n_sets + 1, "forgettability statistics")
    summary_df = _class_summary(v, fr)
    pairs = fg.fcd_pairs(fr.rel_ap, v.labels, names)
    corrs = _correlations(fr, v.train_counts, v.labels, pairs, n_boot, n_perm, random_state)
    pies_df, pc = _pie_parts(pie_table, hidden_truth, v)
    sections = None
    if who:
        mask = pie_mask(pie_table, v.labels.shape[0], v.image_ids) if pie_table is not None else None
        who_args = (metadata, ensemble, seed_views, pie_level, pie_table, level_name, n_boot_who, n_boot_pies)
        sections = _who(v, mask, hidden_truth, *who_args, random_state)
    step(n_sets + 2, "figures")
    figure_args = _figure_args(v, fr, overall, summary_df, pairs, corrs, pc, weights, experiment, classes_to_plot)
    summary = _summary(experiment, v, overall, fr, corrs, pc, pie_table)
    if sections is not None:
        figure_args |= sections.figure_args
        summary["who"] = sections.summary
    step(total, "done")
    return ForgettabilityReport(
        experiment, cm, overall, fr.table(), summary_df, pairs, pies_df, summary, corrs, pc, figure_args, sections
    )


def _class_metrics(v, progress: Progress | None, step) -> pd.DataFrame:
    """Per seed, sparsity and class AUROC/AP/F1: given (streamed) or computed from the probabilities."""
    if v.metrics is not None:
        return metrics_frame(v.metrics, seeds=v.seeds, sparsities=v.sparsities, class_names=v.class_names)
    return metrics_table(
        v.probs,
        v.labels,
        seeds=v.seeds,
        sparsities=v.sparsities,
        class_names=v.class_names,
        progress=(lambda d, _t, m: step(d, m)) if progress else None,
    )


def _class_summary(v, fr) -> pd.DataFrame:
    test_counts = v.labels.sum(axis=0)
    return pd.DataFrame(
        {
            "class": v.class_names,
            "train_freq": v.train_counts,
            "test_freq": test_counts,
            "first_drop_20": fr.first_drop_20,
            "delta_ap_95": fr.delta_ap.values,
            # No positive test image: AP is undefined, so the class has no forgettability at all
            # (it neither drops 20% nor "never" does). Footnoted in Figs 2 and 3, not plotted.
            "estimable": test_counts > 0,
        }
    )


def _pie_parts(pie_table: pd.DataFrame | None, hidden_truth: pd.DataFrame | None, v):
    """(the PIE table for pies.csv, the PIE characterisation), or (None, None) without a PIE table."""
    if pie_table is None:
        return None, None
    mask = pie_mask(pie_table, v.labels.shape[0], v.image_ids)
    truth = None
    if hidden_truth is not None:
        truth = align_hidden_truth(hidden_truth, v.labels.shape[0], v.image_ids)
    pc = characterise_pies(v.labels, v.class_names, mask, truth)
    return _pies_table(pie_table, v.image_ids), pc


def _figure_args(v, fr, overall, summary_df, pairs, corrs, pc, weights, experiment, classes_to_plot) -> dict:
    """What each figure is drawn from (also written as figure data, so a figure can be redrawn alone)."""
    names = v.class_names
    not_estimable = [n for n, c in zip(names, v.labels.sum(axis=0), strict=True) if c == 0]
    figure_args = {
        "fig1_overall": {"overall": overall, "experiment": experiment},
        "fig2_curves": {
            "sparsities": v.sparsities,
            "rel_ap": fr.rel_ap,
            "rel_auc": fr.rel_auc,
            "class_names": names,
            "train_freq": v.train_counts,
            "classes": list(classes_to_plot) if classes_to_plot else None,
            "n_seeds": len(v.seeds),
            "not_estimable": not_estimable,
        },
        "fig3_frequency": {
            "summary": summary_df,
            "corr_drop": corrs["first_drop_20_vs_log_train_freq"],
            "corr_delta": corrs["delta_ap_95_vs_log_train_freq"],
            "delta_label": fr.delta_ap.label,
        },
        "fig4_cooccurrence": {"pairs": pairs, "corrs": corrs},
    }
    if pc is not None:
        figure_args["fig5_pies"] = {"pc": pc}
    if weights is not None:
        models = dict(weights) if isinstance(weights, Mapping) else {"": weights}
        figure_args["fig_weights"] = {"hists": {name: weight_histogram(ws) for name, ws in models.items()}}
    return figure_args


def _who(v, mask, truth, metadata, ensemble, views, pie_level, pie_table, level_name, n_boot, n_boot_pies, seed):
    """The "who is forgotten" sections when the scores are at hand (else None)."""
    if pie_level is None and pie_table is not None:
        pie_level = pie_table.attrs.get("sparsity", 0.9)
    levels = np.asarray(v.sparsities, float)
    hit = np.flatnonzero(np.isclose(levels, pie_level)) if pie_level is not None else []
    if v.probs is not None:
        ensemble = v.probs.mean(axis=0, dtype=np.float64)
        views = SeedViews.from_probs(v.probs, int(hit[0]) if len(hit) else None, list(v.class_names))
    if ensemble is None:
        return None
    return compute_who(
        mean_probs=ensemble,
        labels=v.labels,
        levels=levels,
        class_names=list(v.class_names),
        image_ids=list(v.image_ids) if v.image_ids is not None else [str(i) for i in range(v.labels.shape[0])],
        train_counts=v.train_counts,
        views=views,
        metadata=metadata,
        is_pie=mask,
        pie_level=float(levels[hit[0]]) if len(hit) else None,
        hidden_truth=truth,
        level_name=level_name,
        n_boot=n_boot,
        n_boot_pies=n_boot_pies,
        random_state=seed,
    )


def _correlations(fr, train_counts, labels, pairs, n_boot, n_perm, seed) -> dict[str, Correlation]:
    with np.errstate(divide="ignore"):
        log_train = np.where(train_counts > 0, np.log(np.maximum(train_counts, 1)), np.nan)
    kw = {"n_boot": n_boot, "seed": seed}
    out = {
        "first_drop_20_vs_log_train_freq": correlate(
            fr.first_drop_20, log_train, x_name="first_drop_20", y_name="log_train_freq", **kw
        ),
        "delta_ap_95_vs_log_train_freq": correlate(
            fr.delta_ap.values, log_train, x_name="delta_ap_95", y_name="log_train_freq", **kw
        ),
    }
    co = fg.cooccurrence(labels)
    fcd = fg.fcd_matrix(fr.rel_ap)
    for key, freq, iou, fcol, icol in [
        ("paper", co.freq_paper, co.iou_paper, "log_freq_diff", "iou_paper"),
        ("standard", co.freq_standard, co.iou_standard, "log_freq_diff_standard", "iou_standard"),
    ]:
        with np.errstate(divide="ignore", invalid="ignore"):
            lf = np.where(freq > 0, np.log(np.maximum(freq, 1)), np.nan)
        mats = {"log_freq_diff": np.abs(lf[:, None] - lf[None, :]), "iou_quarter": iou**0.25}
        cols = {"log_freq_diff": pairs[fcol].to_numpy(), "iou_quarter": pairs[icol].to_numpy() ** 0.25}
        for stat in ("log_freq_diff", "iou_quarter"):
            c = correlate(cols[stat], pairs["fcd"], x_name=f"{stat}_{key}", y_name="fcd", **kw)
            mp = {m: mantel_p(fcd, mats[stat], method=m, n_perm=n_perm, seed=seed) for m in ("pearson", "spearman")}
            out[f"fcd_vs_{stat}_{key}"] = Correlation(
                **{**c.__dict__, "mantel_r_p": mp["pearson"], "mantel_rho_p": mp["spearman"]}
            )
    return out


def _pies_table(pie_table: pd.DataFrame, image_ids) -> pd.DataFrame:
    t = pie_table.sort_values("image_index").reset_index(drop=True)
    cols = ["image_index", "image_id", "correlation", "is_pie"]
    if "image_id" not in t.columns:
        t = t.assign(image_id=[image_ids[i] for i in t["image_index"]] if image_ids else "")
    if "correlation" not in t.columns:
        t = t.assign(correlation=np.nan)
    extra = [c for c in ("rank", "first_sparsity_below") if c in t.columns]
    return t[cols + extra]


def _summary(experiment, v, overall, fr, corrs, pc, pie_table) -> dict:
    dense = overall[overall["sparsity"] == 0].sort_values("seed")
    pie = None
    if pc is not None:
        pie = pc.summary() | {
            "prevalence": pc.prevalence.to_dict(orient="records"),
            "disease_counts": pc.disease_counts.to_dict(orient="records"),
            "selection": dict(pie_table.attrs),
        }
    return {
        "experiment": experiment,
        "n_seeds": len(v.seeds),
        "seeds": list(v.seeds),
        "sparsities": v.sparsities.tolist(),
        "n_images": int(v.labels.shape[0]),
        "class_names": list(v.class_names),
        "dense_map": float(dense["map"].median()),
        "dense_mauc": float(dense["mauc"].median()),
        "dense_mf1": float(dense["mf1"].median()),
        "dense_map_per_seed": dense["map"].tolist(),
        "delta_ap_sparsity": fr.delta_ap.sparsity,
        "delta_ap_label": fr.delta_ap.label,
        "n_never_drop_20": int((np.isnan(fr.first_drop_20) & (v.labels.sum(axis=0) > 0)).sum()),
        "not_estimable": [n for n, c in zip(v.class_names, v.labels.sum(axis=0), strict=True) if c == 0],
        "correlations": {k: c.to_dict() for k, c in corrs.items()},
        "n_pies": pc.n_pies if pc is not None else None,
        "pie": pie,
        "conventions": CONVENTIONS,
        "definitions": DEFINITIONS,
    }
