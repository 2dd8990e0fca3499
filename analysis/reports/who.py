"""Reads for the report page's "who is forgotten" sections (subgroups, calibration, uncertainty).

Everything comes from the report folder: ``summary.json["who"]`` (numbers and generated sentences,
copied onto the Report row) and the sections' CSVs and figures. No Django model is written here.
"""

from __future__ import annotations

from analysis.models import Report

# (figure, caption) per section, in page order; drawn by analysis.core.figures_who.
SECTIONS = [
    {
        "key": "subgroups",
        "title": "Who is forgotten: subgroups",
        "figures": [
            (
                "fig_subgroups",
                "Per attribute: macro AUROC per subgroup; underdiagnosis rate (false “No Finding” among images "
                "with a finding) with 95% patient-bootstrap CI; change of the gap from dense with 95% CI",
            )
        ],
        "tables": [
            ("subgroup_metrics", "AUROC, AP, F1 per level, attribute, subgroup and class (+ macro rows)"),
            ("underdiagnosis", "Underdiagnosis rate per level and subgroup, 95% CI, per-seed median"),
            ("subgroup_gaps", "Gap vs the reference subgroup, change from dense, CIs, Wilcoxon across seeds"),
            ("pie_subgroups", "PIE rate per subgroup: Fisher exact test, Holm-adjusted"),
            ("metadata", "Per-image attributes used (“not available” where unknown)"),
        ],
    },
    {
        "key": "calibration",
        "title": "Calibration and selective prediction",
        "figures": [
            ("fig_calibration", "Reliability diagram (pooled, equal-mass bins); ECE and Brier score against the level"),
            ("fig_risk_coverage", "Risk-coverage curves and AURC of the head and tail classes against the level"),
        ],
        "tables": [
            ("calibration", "Pooled ECE, class-mean ECE, Brier, AURC, risk at full and 80% coverage per level"),
            ("calibration_classes", "The same per class and level"),
            ("reliability", "Reliability-diagram bins per level"),
            ("risk_coverage", "Risk-coverage curve per level (100 coverage points)"),
            ("aurc_head_tail", "Mean AURC and risk of the head and tail classes per level"),
        ],
    },
    {
        "key": "uncertainty",
        "title": "Predicting PIEs before pruning",
        "figures": [("fig_uncertainty", "Dense-model uncertainty of PIEs and non-PIEs (AUROC in each title)")],
        "tables": [
            ("uncertainty_auroc", "AUROC of each uncertainty measure for PIE status, DeLong CI and p"),
            ("uncertainty_images", "Per image: entropy, low margin, seed disagreement, PIE flag, selection rate"),
        ],
    },
]
WHO_FIGURES = [fig for s in SECTIONS for fig in s["figures"]]
WHO_TABLES = [t for s in SECTIONS for t in s["tables"]]


def report_who(*, report: Report, files: list[str]) -> list[dict]:
    """The sections present in this report: title, sentences, footnotes, figures and CSVs."""
    who = (report.summary or {}).get("who")
    if not who:
        return []
    present, drawable = set(files), "figure_data.json" in files
    out = []
    for section in SECTIONS:
        text = who.get(section["key"]) or {}
        figures = [
            {"name": n, "caption": c, "formats": ["png", *(["svg", "pdf"] if drawable else [])]}
            for n, c in section["figures"]
            if f"{n}.png" in present
        ]
        tables = [{"file": f"{n}.csv", "caption": c} for n, c in section["tables"] if f"{n}.csv" in present]
        sentences = list(text.get("sentences", []))
        if section["key"] == "subgroups" and who.get("planted"):
            sentences.append(who["planted"]["sentence"])
        out.append(
            {
                "key": section["key"],
                "title": section["title"],
                "sentences": sentences,
                "footnotes": text.get("footnotes", []),
                "figures": figures,
                "tables": tables,
            }
        )
    return out


def report_who_payload(*, report: Report, files: list[str]) -> dict:
    """The API's view: the sections plus the raw numbers of summary.json["who"]."""
    who = (report.summary or {}).get("who") or {}
    return {
        "report": report.pk,
        "ready": bool(who),
        "level_name": who.get("level_name"),
        "focus_level": who.get("focus_level"),
        "binning": who.get("binning"),
        "attributes": who.get("attributes", {}),
        "planted": who.get("planted"),
        "sections": report_who(report=report, files=files),
    }
