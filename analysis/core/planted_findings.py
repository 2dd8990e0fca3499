"""The synthetic data's three findings (the paper's), read back from a report's summary.json.

Used by ``manage.py demo`` (printed at the end of the chain) and ``bench/synthetic_findings.py``:

* rare classes are forgotten first: first sparsity with a 20% AP drop vs log train frequency,
  Pearson r > 0 with p < 0.05;
* PIEs are enriched for poor image quality (hidden quality <= 2) and for subtle findings (a true
  finding with subtlety >= 4), each by Fisher's exact test with p < 0.01;
* PIEs carry more (true) findings per image than non-PIEs.

The pipeline never reads the hidden truth; only the report's hidden-truth panel compares against it.
"""

from __future__ import annotations

ALPHA_FORGETTING, ALPHA_ENRICHMENT = 0.05, 0.01


def synthetic_findings(summary: dict) -> list[dict]:
    """The issue's three goals (rare classes forgotten first; PIEs enriched for poor quality and for
    subtle findings; PIEs carry more findings), each with its numbers, p-value and whether it holds,
    from a report's summary.json. Missing statistics give ``holds=None``."""
    corr = (summary.get("correlations") or {}).get("first_drop_20_vs_log_train_freq") or {}
    pie = summary.get("pie") or {}
    truth = pie.get("hidden_truth") or {}
    low, subtle, found = truth.get("low_quality") or {}, truth.get("subtle_finding") or {}, truth.get("true_findings")
    found = found or pie.get("disease_count_test") or {}

    def more(a, b) -> bool | None:
        return None if a is None or b is None else a > b

    def p_below(p, alpha) -> bool | None:
        return None if p is None else p < alpha

    def both(*xs) -> bool | None:
        return None if any(x is None for x in xs) else all(xs)

    return [
        {
            "finding": "rare classes are forgotten first (first 20% AP drop vs log train frequency)",
            "numbers": f"r = {_f(corr.get('r'))}, n = {corr.get('n')} classes",
            "p": corr.get("r_p"),
            "holds": both(more(corr.get("r"), 0), p_below(corr.get("r_p"), ALPHA_FORGETTING)),
            "criterion": f"r > 0, p < {ALPHA_FORGETTING}",
        },
        {
            "finding": "PIEs are enriched for poor image quality (hidden quality <= 2)",
            "numbers": f"PIEs {_pct(low.get('pie_rate'))} vs non-PIEs {_pct(low.get('non_pie_rate'))}",
            "p": low.get("p"),
            "holds": both(more(low.get("pie_rate"), low.get("non_pie_rate")), p_below(low.get("p"), ALPHA_ENRICHMENT)),
            "criterion": f"higher rate, Fisher p < {ALPHA_ENRICHMENT}",
        },
        {
            "finding": "PIEs are enriched for subtle findings (a true finding, subtlety >= 4)",
            "numbers": f"PIEs {_pct(subtle.get('pie_rate'))} vs non-PIEs {_pct(subtle.get('non_pie_rate'))}",
            "p": subtle.get("p"),
            "holds": both(
                more(subtle.get("pie_rate"), subtle.get("non_pie_rate")), p_below(subtle.get("p"), ALPHA_ENRICHMENT)
            ),
            "criterion": f"higher rate, Fisher p < {ALPHA_ENRICHMENT}",
        },
        {
            "finding": "PIEs carry more findings per image than non-PIEs (true findings)",
            "numbers": f"PIEs {_f(found.get('pie_mean'))} vs non-PIEs {_f(found.get('non_pie_mean'))}",
            "p": found.get("p"),
            "holds": more(found.get("pie_mean"), found.get("non_pie_mean")),
            "criterion": "higher mean (Mann-Whitney p shown)",
        },
    ]


def _f(v) -> str:
    return "—" if v is None else f"{v:.2f}"


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def findings_lines(summary: dict) -> list[str]:
    lines = ["Synthetic findings (recovered without reading the hidden truth; the report checks them against it):"]
    for f in synthetic_findings(summary):
        verdict = {True: "HOLDS", False: "does NOT hold", None: "not measured"}[f["holds"]]
        p = "—" if f["p"] is None else f"{f['p']:.2g}"
        lines.append(f"  {verdict:13} {f['finding']}: {f['numbers']}, p = {p} ({f['criterion']})")
    return lines
