"""Reads for the analysis app: reports, their files (only inside the report folder) and the numbers
the report page shows next to the paper's."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from django.db.models import Q, QuerySet

from analysis.models import Report
from analysis.reports.who import WHO_FIGURES

# Figures in page order (analysis.core.report.FIGURE_NAMES; repeated so the web process never
# imports matplotlib) with their captions.
FIGURES = [
    ("fig1_overall", "Fig 1. Overall performance (median over seeds) vs sparsity"),
    ("fig2_curves", "Fig 2. Forgettability curves: median relative change in AP per class"),
    ("fig3_frequency", "Fig 3. Class frequency vs forgettability"),
    ("fig4_cooccurrence", "Fig 4. Forgettability curve dissimilarity vs frequency difference and co-occurrence"),
    ("fig5_pies", "Fig 5. PIE characterisation: class prevalence and number of diseases"),
    ("fig_weights", "Weight magnitudes of the dense model (Conv2d and Linear)"),
]
FIGURE_FORMATS = ("png", "svg", "pdf")
# The numbers behind every figure (analysis.core.figure_data.DATA_FILE): with it, SVG and PDF are
# drawn on first download, so they are offered before they exist.
FIGURE_DATA = "figure_data.json"
TABLES = [
    ("class_summary", "Per class: train/test frequency, first 20% AP drop, AP change at 95%"),
    ("class_metrics", "AUROC, AP, F1 per seed, sparsity and class"),
    ("overall", "mAUC, mAP, mF1 per seed and sparsity"),
    ("forgettability", "Median relative change in AP and AUROC per class and sparsity"),
    ("fcd_pairs", "FCD, frequency difference and IoU per class pair"),
    ("pies", "PIE selection: per-image correlation and PIE flag"),
]
DOWNLOAD_SUFFIXES = {".csv", ".json", ".png", ".svg", ".pdf"}

# The correlations the paper typed into its figures (DESIGN.md section 1): (r, rho) per dataset.
PAPER_VALUES = {
    "first_drop_20_vs_log_train_freq": {"nih-cxr-lt": (0.64, 0.61), "mimic-cxr-lt": (0.82, 0.93)},
    "delta_ap_95_vs_log_train_freq": {"nih-cxr-lt": (0.80, 0.75), "mimic-cxr-lt": (0.76, 0.75)},
    "fcd_vs_log_freq_diff_paper": {"nih-cxr-lt": (0.71, 0.64), "mimic-cxr-lt": (0.59, 0.60)},
    "fcd_vs_iou_quarter_paper": {"nih-cxr-lt": (-0.43, -0.47), "mimic-cxr-lt": (-0.28, -0.30)},
}
CORRELATION_LABELS = {
    "first_drop_20_vs_log_train_freq": "First sparsity with a 20% AP drop vs log train frequency",
    "delta_ap_95_vs_log_train_freq": "AP change at 95% sparsity vs log train frequency",
    "fcd_vs_log_freq_diff_paper": "FCD vs |difference of log frequency| (paper's definition)",
    "fcd_vs_iou_quarter_paper": "FCD vs IoU^(1/4) (paper's definition)",
    "fcd_vs_log_freq_diff_standard": "FCD vs |difference of log frequency| (standard, sensitivity)",
    "fcd_vs_iou_quarter_standard": "FCD vs IoU^(1/4) (standard, sensitivity)",
}


def reports_visible(user) -> QuerySet[Report]:
    """Reports are per owner, as their experiments are (pies.csv unblinds): admins see all; a researcher sees
    the reports they made and those of the experiments they may see (pruning.visibility)."""
    from config.roles import is_admin
    from pruning.visibility import experiments_visible

    if is_admin(user):
        return Report.objects.all()
    return Report.objects.filter(Q(created_by=user) | Q(experiment__in=experiments_visible(user)))


def report_jobs_q(user) -> Q:
    """visible_q of the report job kind: the jobs of the reports `user` may see."""
    return Q(created_by=user) | Q(params__report_id__in=list(reports_visible(user).values_list("pk", flat=True)))


def report_list(*, user, limit: int = 200) -> QuerySet[Report]:
    return reports_visible(user).select_related("job", "created_by").order_by("-created_at", "-id")[:limit]


def report_file_path(*, report: Report, name: str) -> Path | None:
    """The file ``name`` of the report's folder, or None: only plain files directly inside the folder,
    with a known suffix, never a hidden (staging) file; '..', slashes and links all give None."""
    if not report.out_dir or not name or name != Path(name).name or name.startswith("."):
        return None
    root = Path(report.out_dir).resolve()
    path = (root / name).resolve()
    if path.parent != root or path.suffix.lower() not in DOWNLOAD_SUFFIXES or not path.is_file():
        return None
    return path


def report_figure_to_draw(*, report: Report, name: str) -> tuple[str, str] | None:
    """(figure, format) when ``name`` is a figure's SVG or PDF that is not drawn yet but can be
    (its PNG and the figure data are in the folder); else None."""
    stem, _, fmt = name.rpartition(".")
    if fmt not in ("svg", "pdf") or stem not in dict(FIGURES) | dict(WHO_FIGURES):
        return None
    if report_file_path(report=report, name=f"{stem}.png") is None:
        return None
    if report_file_path(report=report, name=FIGURE_DATA) is None:
        return None
    return stem, fmt


def report_files(*, report: Report) -> list[str]:
    root = report.out_path
    if root is None or not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in DOWNLOAD_SUFFIXES
    )


def report_figures(*, report: Report) -> list[dict]:
    """Figures present in the folder, each with its caption and the formats available."""
    files = set(report_files(report=report))
    drawable = FIGURE_DATA in files
    out = []
    for name, caption in FIGURES:
        formats = [f for f in FIGURE_FORMATS if f"{name}.{f}" in files or (drawable and f"{name}.png" in files)]
        if "png" in formats:
            out.append({"name": name, "caption": caption, "formats": formats})
    return out


def report_tables(*, report: Report) -> list[dict]:
    files = set(report_files(report=report))
    return [{"name": n, "file": f"{n}.csv", "caption": c} for n, c in TABLES if f"{n}.csv" in files]


def _num(value: str) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def report_class_summary(*, report: Report) -> list[dict]:
    """class_summary.csv rows, most frequent train class first (the long tail reads downwards)."""
    path = report_file_path(report=report, name="class_summary.csv")
    if path is None:
        return []
    with path.open(newline="", encoding="utf-8") as f:
        rows = [
            {
                "class": r["class"],
                "train_freq": _num(r.get("train_freq")),
                "test_freq": _num(r.get("test_freq")),
                "first_drop_20": _num(r.get("first_drop_20")),
                "delta_ap_95": _num(r.get("delta_ap_95")),
                # older reports have no column: a class with test images is estimable
                "estimable": r.get("estimable", "True") != "False" and (_num(r.get("test_freq")) or 0) > 0,
            }
            for r in csv.DictReader(f)
        ]
    return sorted(rows, key=lambda r: (-(r["train_freq"] or 0), r["class"]))


def paper_dataset(report: Report) -> str | None:
    """Which of the paper's datasets this report corresponds to, if any (for highlighting)."""
    name = report.dataset_label
    return name if name in ("nih-cxr-lt", "mimic-cxr-lt") else None


def report_correlations(*, report: Report) -> list[dict]:
    """Every correlation of summary.json with the paper's reported r and rho beside it."""
    rows = []
    for key, c in (report.summary.get("correlations") or {}).items():
        paper = PAPER_VALUES.get(key, {})
        rows.append(
            {
                "key": key,
                "label": CORRELATION_LABELS.get(key, key.replace("_", " ")),
                **c,
                "r_ci": c.get("r_ci") or [None, None],
                "rho_ci": c.get("rho_ci") or [None, None],
                "paper_nih": paper.get("nih-cxr-lt"),
                "paper_mimic": paper.get("mimic-cxr-lt"),
            }
        )
    return rows


def _display(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def report_key_numbers(*, report: Report) -> list[tuple[str, str]]:
    """(label, display text) pairs for the page's headline numbers."""
    s = report.summary
    if not s:
        return []
    pie = s.get("pie") or {}
    selection = pie.get("selection") or {}
    numbers = [
        ("Dense mAP (median over seeds)", s.get("dense_map")),
        ("Dense mAUC", s.get("dense_mauc")),
        ("Dense mF1", s.get("dense_mf1")),
        ("Seeds", s.get("n_seeds")),
        ("Sparsities", len(s.get("sparsities") or [])),
        ("Test images", s.get("n_images")),
        ("Classes", len(s.get("class_names") or [])),
        ("Classes that never drop 20%", s.get("n_never_drop_20")),
        ("PIEs", s.get("n_pies")),
    ]
    if selection:
        numbers += [
            ("PIE sparsity / fraction", f"{selection.get('sparsity', '—')} / {selection.get('q', '—')}"),
            (
                "Tie group at the PIE cutoff (in PIEs / size)",
                f"{selection.get('tie_group_in_pies', '—')} / {selection.get('tie_group_size', '—')}",
            ),
            ("Images without a correlation (constant scores)", selection.get("n_nan")),
        ]
    return [(label, _display(value)) for label, value in numbers]


def _pie_test_row(what: str, test: dict, pie: str, non_pie: str, effect: str | None = None) -> dict:
    return {
        "what": what,
        "pie": test.get(pie),
        "non_pie": test.get(non_pie),
        "effect": test.get(effect) if effect else None,
        "p": test.get("p"),
        "test": test.get("test", ""),
    }


def report_pie_tests(*, report: Report) -> list[dict]:
    """PIE vs non-PIE comparisons: diseases per image, and (synthetic data) hidden label noise and quality."""
    pie = report.summary.get("pie") or {}
    rows = []
    dc = pie.get("disease_count_test") or {}
    if dc:
        rows.append(_pie_test_row("Diseases per image (mean)", dc, "pie_mean", "non_pie_mean"))
    truth = pie.get("hidden_truth") or {}
    for key, what in (
        ("label_noise", "Hidden label noise (rate)"),
        ("low_quality", "Low image quality, score <= 2 (rate)"),
    ):
        if truth.get(key):
            rows.append(_pie_test_row(what, truth[key], "pie_rate", "non_pie_rate", effect="odds_ratio"))
    if truth.get("quality"):
        rows.append(_pie_test_row("Image quality, 1-5 (mean)", truth["quality"], "pie_mean", "non_pie_mean"))
    if truth.get("subtle_finding"):
        subtle = truth["subtle_finding"]
        rows.append(
            _pie_test_row("Subtle finding, subtlety >= 4 (rate)", subtle, "pie_rate", "non_pie_rate", "odds_ratio")
        )
    if truth.get("subtlety"):
        rows.append(
            _pie_test_row("Subtlety, 1-5, images with a finding (mean)", truth["subtlety"], "pie_mean", "non_pie_mean")
        )
    if truth.get("true_findings"):
        rows.append(_pie_test_row("True findings per image (mean)", truth["true_findings"], "pie_mean", "non_pie_mean"))
    return rows


def report_synthetic_findings(*, report: Report) -> list[dict]:
    """The paper's findings checked against the synthetic data's hidden truth, each with its numbers,
    p-value and verdict (``analysis.core.planted_findings``); empty for data without hidden truth."""
    from analysis.core.planted_findings import synthetic_findings

    summary = report.summary or {}
    if not (summary.get("pie") or {}).get("hidden_truth"):
        return []
    # two significant digits: p-values here run from 0.5 down to 1e-50, and the criteria are 0.05 and 0.01
    return [{**f, "p_text": "—" if f["p"] is None else f"{f['p']:.2g}"} for f in synthetic_findings(summary)]
