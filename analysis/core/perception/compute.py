"""One call from the tidy answer table to every perception table, sentence and figure.

``compute_perception(tidy, stage="fast")`` gives the paper-exact tables, the bootstrap effect sizes, the
mixed models (ordinal with its case-clustered Wald CI), agreement, Spearman dose-response, sentences and
figures in seconds. ``stage="full"`` adds the ordinal odds ratio's cluster-bootstrap CI (>= 200
warm-started refits) and the dose-response slope in the crossed mixed model; the sentences then cite
the bootstrap CI. ``PerceptionResult.write(out_dir)`` writes

    <table>.csv for each name in PerceptionResult.tables
    summary.json  everything above as JSON (NaN -> null), sentences, counts, definitions, stage
    <figure>.{png,svg,pdf}
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.core.figures import FORMATS, save_figure
from analysis.core.perception import agreement
from analysis.core.perception import mixed_models as models
from analysis.core.perception.data import PerceptionInput, prepare
from analysis.core.perception.effects import DEFAULT_REPLICATES, effect_sizes
from analysis.core.perception.figures import fig6_perception, fig_agreement, fig_distributions, fig_readers
from analysis.core.perception.ordinal import DEFAULT_ORDINAL_REPLICATES, ordinal_bootstrap, ordinal_fit
from analysis.core.perception.paper import descriptive_table, distribution_table, paper_tests_table
from analysis.core.perception.text import holm, sentence
from common.csvsafe import frame_csv_text
from common.files import atomic_write_text
from common.jsonsafe import json_safe

FIGURES = ("fig6_perception", "fig_distributions", "fig_readers", "fig_agreement")
DEFINITIONS = {
    "paper_exact": "pooled answers, yes=1/no=0; sample SD (ddof=1); Welch t, Mann-Whitney U (two-sided, "
    "continuity correction), Kruskal-Wallis as in the paper's survey script; answers treated as independent.",
    "effect_sizes": "percentile CIs from a two-way cluster bootstrap (readers, and cases within PIE group, "
    "resampled with replacement; never single answers).",
    "mixed_linear": "linear mixed model, REML (lme4's profiled criterion), crossed random intercepts for "
    "reader and case; var_reader_ci is an approximate chi-square interval with (readers - 1) degrees of freedom.",
    "ordinal": "OrderedModel (logit) with reader fixed effects; OR > 1 = PIEs rated higher. p and "
    "ci_*_cluster: Wald, cluster-robust by case. ci_low/ci_high: two-way cluster bootstrap, warm-started refits.",
    "logistic": "BinomialBayesMixedGLM (variational Bayes, crossed intercepts), or GEE clustered by reader "
    "where it fails; the model column says which. Its interval is the VB posterior mean +/- 1.96 SD; in our "
    "simulations it covered the planted OR too rarely (VB understates posterior spread), so the sentences "
    "cite the reader fixed-effects logistic model (ordinal table, 2 levels) with its cluster bootstrap CI.",
    "holm": "Holm correction across questions within each family (each paper test; each model).",
    "agreement": "anchor cases = read by >= 2 readers; Krippendorff alpha nominal (yes/no) / ordinal "
    "(Likert); Fleiss' kappa on the anchor cases read by the most readers; bias = mean offset from the "
    "case mean of all its readers. Intra-reader: hidden repeats, quadratic-weighted kappa for Likert.",
    "dose_response": "Spearman rho of case mean rating vs the case's PIE correlation (Fisher z CI, "
    "Bonett-Wright SE); slope of the correlation in the crossed linear mixed model.",
}


@dataclass
class PerceptionResult:
    stage: str
    tables: dict[str, pd.DataFrame]
    summary: dict
    figures: dict[str, Figure] = field(default_factory=dict)

    @property
    def sentences(self) -> list[str]:
        return list(self.summary["sentences"])

    def write(self, out_dir: str | os.PathLike, formats: Sequence[str] = FORMATS) -> list[Path]:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [atomic_write_text(out / f"{n}.csv", frame_csv_text(t)) for n, t in self.tables.items()]
        for name, fig in self.figures.items():
            paths.extend(save_figure(fig, out / name, formats))
        # summary.json last: its presence says the folder is complete.
        text = json.dumps(json_safe(self.summary), indent=2, allow_nan=False, default=str)
        paths.append(atomic_write_text(out / "summary.json", text + "\n"))
        return paths


def completeness(inp: PerceptionInput, expected: pd.DataFrame | None) -> pd.DataFrame:
    """reader, question, n_answers, n_expected, n_missing (expected = the (reader, case) pairs assigned)."""
    got = inp.answers.groupby(["reader", "question"]).size()
    readers = sorted(set(inp.answers["reader"]) | set(expected["reader"].astype(str) if expected is not None else []))
    out = []
    for r in readers:
        n_exp = int((expected["reader"].astype(str) == r).sum()) if expected is not None else None
        for q in inp.questions:
            n = int(got.get((r, q.key), 0))
            out.append(
                {"reader": r, "question": q.key, "n_answers": n, "n_expected": n_exp,
                 "n_missing": (n_exp - n) if n_exp is not None else None}
            )  # fmt: skip
    return pd.DataFrame(out, columns=["reader", "question", "n_answers", "n_expected", "n_missing"])


def _chi2_interval(var: float, n_readers: int) -> tuple[float, float]:
    from scipy import stats

    df = n_readers - 1
    if not np.isfinite(var) or df < 1:
        return np.nan, np.nan
    return df * var / stats.chi2.ppf(0.975, df), df * var / stats.chi2.ppf(0.025, df)


def _model_tables(inp: PerceptionInput, n_boot_ordinal: int, seed: int, step) -> dict[str, pd.DataFrame]:
    lmm, ordinal, logistic = [], [], []
    for q in inp.questions:
        row = models.mixed_linear(inp, q)
        row["var_reader_ci_low"], row["var_reader_ci_high"] = _chi2_interval(
            row.get("var_reader", np.nan), row["n_readers"]
        )
        lmm.append(row)
    step("mixed_linear")
    for q in inp.questions:
        # Yes/no answers go through the same model with two levels (= logistic with reader fixed effects),
        # so every question gets an odds ratio with the same two-way cluster bootstrap CI.
        fit = ordinal_fit(inp, q)
        if q.kind == "yes_no":
            fit["model"] = "logistic (OrderedModel, 2 levels), reader fixed effects"
            logistic.append(models.mixed_logistic(inp, q))
        if n_boot_ordinal:
            fit.update(ordinal_bootstrap(inp, q, fit, n_boot_ordinal, seed))
        fit.pop("_params", None)
        if "ci_low" not in fit and "odds_ratio" in fit:
            fit["ci_low"], fit["ci_high"] = fit["ci_low_cluster"], fit["ci_high_cluster"]
            fit["ci_method"] = "Wald, cluster-robust by case (bootstrap CI pending)"
        elif "odds_ratio" in fit:
            fit["ci_method"] = f"two-way cluster bootstrap, {fit['n_boot']} warm-started refits"
        ordinal.append(fit)
    step("ordinal_and_logistic")
    frames = {"mixed_linear": pd.DataFrame(lmm), "ordinal": pd.DataFrame(ordinal), "logistic": pd.DataFrame(logistic)}
    for name, t in frames.items():
        if "p" in t or "p_cluster" in t:
            frames[name] = holm(t, "p" if "p" in t else "p_cluster", "p_holm")
        if "levels" in frames[name]:
            frames[name]["levels"] = frames[name]["levels"].map(
                lambda v: " ".join(f"{x:g}" for x in v) if isinstance(v, list) else v
            )
    return frames


def _sentences(inp: PerceptionInput, descriptive: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> list[str]:
    out = []
    simulated = bool(inp.simulated_readers)
    for q in inp.questions:
        means = descriptive[descriptive["question"] == q.key].set_index("group")["mean"].to_dict()
        table = frames["ordinal"]
        row = table[table["question"] == q.key].iloc[0].to_dict() if not table.empty else {"note": "not estimable"}
        row["note"] = str(row.get("note") or "") if str(row.get("note", "")).startswith("not estimable") else ""
        row["label"] = "ordinal OR" if q.kind == "likert" else "OR"
        rows = inp.of(q.key)
        out.append(sentence(q, means, row, rows["reader"].nunique(), rows["case"].nunique(), simulated))
    return out


def compute_perception(*args, **kwargs) -> PerceptionResult:
    """Every perception statistic of one study (see _compute for the arguments).

    BLAS runs single-threaded here: the work is thousands of small matrix products (bootstrap refits,
    REML iterations), where thread start-up and, on a busy machine, oversubscription cost far more than
    they save (measured: 20x slower ordinal refits with OpenBLAS threads on a loaded 2-core machine)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _compute(*args, **kwargs)


def _figures(inp, tables: dict[str, pd.DataFrame]) -> dict:
    return {
        "fig6_perception": fig6_perception(tables["descriptive"], inp.questions),
        "fig_distributions": fig_distributions(tables["distribution"], inp.questions),
        "fig_readers": fig_readers(inp.answers, inp.questions),
        "fig_agreement": fig_agreement(tables["agreement_pairwise"], inp.questions),
    }


def _compute(
    tidy: pd.DataFrame,
    *,
    stage: str = "full",
    expected: pd.DataFrame | None = None,
    questions: list[dict] | None = None,
    n_boot: int = DEFAULT_REPLICATES,
    n_boot_ordinal: int = DEFAULT_ORDINAL_REPLICATES,
    seed: int = 0,
    figures: bool = True,
    progress: Callable[[str], None] | None = None,
) -> PerceptionResult:
    """`expected`: (reader, case) pairs assigned, for completeness; `questions`: the study's questions."""
    timings: dict[str, float] = {}
    start = time.perf_counter()

    def step(name: str) -> None:
        nonlocal start
        timings[name] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        if progress:
            progress(name)

    inp = prepare(tidy, questions)
    descriptive, distribution = descriptive_table(inp), distribution_table(inp)
    tests = paper_tests_table(inp)
    for col in ("welch_p", "mwu_p", "kw_p"):
        tests = holm(tests, col, col + "_holm")
    step("paper")
    effects = effect_sizes(inp, n_boot=n_boot, seed=seed)
    step("effect_sizes")
    frames = _model_tables(inp, n_boot_ordinal if stage == "full" else 0, seed, step)
    dose_lmm = []
    if stage == "full":
        dose_lmm = [models.mixed_linear(inp, q, term="correlation") for q in inp.questions]
        step("dose_response_mixed")
    dose = pd.DataFrame([models.spearman_dose_response(inp, q) for q in inp.questions])
    tables = {
        "completeness": completeness(inp, expected),
        "descriptive": descriptive,
        "distribution": distribution,
        "paper_tests": tests,
        "effect_sizes": effects,
        **frames,
        "dose_response": dose,
        "dose_response_mixed": pd.DataFrame(dose_lmm),
        "agreement_inter": agreement.inter_reader(inp),
        "reader_bias": agreement.reader_bias(inp),
        "agreement_pairwise": agreement.pairwise_agreement(inp),
        "agreement_intra": agreement.intra_reader(inp),
    }
    step("agreement")
    sentences = _sentences(inp, descriptive, frames)
    figs = _figures(inp, tables) if figures else {}
    if figures:
        step("figures")
    summary = {
        "stage": stage,
        "sentences": sentences,
        "n_readers": inp.n_readers,
        "n_cases": inp.n_cases,
        "n_answers": len(inp.answers),
        # One pair per reader and hidden repeat (not per question): readerstudy.counts' definition.
        "n_repeat_pairs": int(len(inp.repeats[["reader", "case"]].drop_duplicates())),
        "n_unable": inp.unable,
        "questions": [{"key": q.key, "text": q.text, "kind": q.kind, "scale": q.scale} for q in inp.questions],
        "skipped_questions": inp.skipped_questions,
        "duplicates_dropped": inp.duplicates_dropped,
        "simulated_readers": inp.simulated_readers,
        "n_boot": n_boot,
        "n_boot_ordinal": n_boot_ordinal if stage == "full" else 0,
        "seed": seed,
        "definitions": DEFINITIONS,
        "timings_s": timings,
        "tables": {name: t.replace({np.nan: None}).to_dict(orient="records") for name, t in tables.items()},
    }
    return PerceptionResult(stage=stage, tables=tables, summary=summary, figures=figs)
