"""One call from the tidy answer table to every perception table, sentence and figure.

``compute_perception(tidy, stage="fast")`` gives the published effect per question (odds ratio with its
two-way clustered Wald CI and p, see odds_ratio), the paper-exact tables, the bootstrap effect sizes, the
linear mixed model, agreement, Spearman dose-response, sentences and figures in seconds. ``stage="full"``
adds the odds ratios' cluster-bootstrap CI (an extra column) and the dose-response slope in the crossed
mixed model; the published numbers and sentences are the same in both stages. A model that cannot be
fitted gives a "not estimable" row with the reason; the rest is still computed.
``PerceptionResult.write(out_dir)`` writes

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
from analysis.core.perception.data import PerceptionInput, not_estimable, prepare
from analysis.core.perception.definitions import DEFINITIONS
from analysis.core.perception.effects import DEFAULT_REPLICATES, effect_sizes
from analysis.core.perception.figures import fig6_perception, fig_agreement, fig_distributions, fig_readers
from analysis.core.perception.odds_ratio import DEFAULT_ORDINAL_REPLICATES, METHOD, ordinal_bootstrap, ordinal_fit
from analysis.core.perception.paper import descriptive_table, distribution_table, paper_tests_table
from analysis.core.perception.text import holm, sentence
from common.csvsafe import frame_csv_text
from common.files import atomic_write_text
from common.jsonsafe import json_safe

FIGURES = ("fig6_perception", "fig_distributions", "fig_readers", "fig_agreement")
AGREEMENT = {
    "agreement_inter": agreement.inter_reader,
    "reader_bias": agreement.reader_bias,
    "agreement_pairwise": agreement.pairwise_agreement,
    "agreement_intra": agreement.intra_reader,
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


NUMERIC_FAILURES = (np.linalg.LinAlgError, ArithmeticError, ValueError)


def guarded(fit: Callable[[], dict], base: dict) -> dict:
    """One model row; a numerical failure makes it "not estimable" with the reason instead of ending the
    job (input errors never get here: prepare refused them before any model ran)."""
    try:
        return fit()
    except NUMERIC_FAILURES as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return {**base, "note": not_estimable(f"the fit failed ({reason})")}


def _guarded_table(build: Callable[[PerceptionInput], pd.DataFrame], inp: PerceptionInput) -> pd.DataFrame:
    try:
        return build(inp)
    except NUMERIC_FAILURES as exc:
        return pd.DataFrame([{"note": not_estimable(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")}])


def _model_tables(inp: PerceptionInput, n_boot_ordinal: int, seed: int, step) -> dict[str, pd.DataFrame]:
    lmm, odds = [], []
    for q in inp.questions:
        row = guarded(lambda q=q: models.mixed_linear(inp, q), {"question": q.key})
        row["var_reader_ci_low"], row["var_reader_ci_high"] = _chi2_interval(
            row.get("var_reader", np.nan), row.get("n_readers", 0)
        )
        lmm.append(row)
    step("mixed_linear")
    for q in inp.questions:
        fit = guarded(lambda q=q: ordinal_fit(inp, q), {"question": q.key, "parameter": "PIE"})
        if n_boot_ordinal and "_params" in fit:
            fit.update(guarded(lambda q=q, fit=fit: ordinal_bootstrap(inp, q, fit, n_boot_ordinal, seed), {}))
        fit.pop("_params", None), fit.pop("_readers", None)
        odds.append(fit)
    step("odds_ratio")
    # Holm over every question, a not-estimable one counted as p = 1: a separated question neither drops
    # out of the family nor moves the other questions' adjusted p with whatever number it would have had.
    frames = {
        "mixed_linear": holm(pd.DataFrame(lmm), "p", "p_holm"),
        "ordinal": holm(pd.DataFrame(odds), "p", "p_holm", missing_as_one=True),
    }
    frames["ordinal"]["levels"] = (
        frames["ordinal"]
        .get("levels", pd.Series(dtype=object))
        .map(lambda v: " ".join(f"{x:g}" for x in v) if isinstance(v, list) else v)
    )
    return frames


def published_table(inp: PerceptionInput, odds: pd.DataFrame) -> pd.DataFrame:
    """The one published effect per question (the page's and the sentences' numbers)."""
    out = []
    for q in inp.questions:
        hit = odds[odds["question"] == q.key]
        row = hit.iloc[0].to_dict() if len(hit) else {"note": not_estimable("no model row")}
        estimable = not str(row.get("note") or "").startswith("not estimable")
        out.append(
            {
                "question": q.key,
                "effect": "ordinal odds ratio" if q.kind == "likert" else "odds ratio",
                "estimate": row.get("odds_ratio") if estimable else np.nan,
                "ci_low": row.get("ci_low") if estimable else np.nan,
                "ci_high": row.get("ci_high") if estimable else np.nan,
                "p": row.get("p") if estimable else np.nan,
                "p_holm": row.get("p_holm") if estimable else np.nan,
                "method": f"{row.get('model', '')}; {METHOD}" if estimable else "",
                "n_readers": row.get("n_readers"),
                "n_cases": row.get("n_cases"),
                "note": str(row.get("note") or ""),
            }
        )
    cols = ["question", "effect", "estimate", "ci_low", "ci_high", "p", "p_holm", "method", "n_readers", "n_cases"]
    return pd.DataFrame(out, columns=[*cols, "note"])


def _sentences(inp: PerceptionInput, descriptive: pd.DataFrame, published: pd.DataFrame) -> list[str]:
    out = []
    simulated = bool(inp.simulated_readers)
    for q in inp.questions:
        means = descriptive[descriptive["question"] == q.key].set_index("group")["mean"].to_dict()
        row = published[published["question"] == q.key].iloc[0].to_dict()
        effect = {k: row[k] for k in ("ci_low", "ci_high", "p_holm", "note")}
        effect.update(odds_ratio=row["estimate"], label=row["effect"].replace("odds ratio", "OR"))
        rows = inp.of(q.key)
        out.append(sentence(q, means, effect, rows["reader"].nunique(), rows["case"].nunique(), simulated))
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


def _paper_tests(inp: PerceptionInput) -> pd.DataFrame:
    """The paper's per-question tests, each p also Holm-adjusted across the questions."""
    tests = paper_tests_table(inp)
    for col in ("welch_p", "mwu_p", "kw_p"):
        tests = holm(tests, col, col + "_holm")
    return tests


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
    tests = _paper_tests(inp)
    step("paper")
    effects = _guarded_table(lambda i: effect_sizes(i, n_boot=n_boot, seed=seed), inp)
    step("effect_sizes")
    frames = _model_tables(inp, n_boot_ordinal if stage == "full" else 0, seed, step)
    published = published_table(inp, frames["ordinal"])
    dose_lmm = []
    if stage == "full":
        dose_lmm = [
            guarded(lambda q=q: models.mixed_linear(inp, q, term="correlation"), {"question": q.key})
            for q in inp.questions
        ]
        step("dose_response_mixed")
    dose = pd.DataFrame(
        [guarded(lambda q=q: models.spearman_dose_response(inp, q), {"question": q.key}) for q in inp.questions]
    )
    tables = {
        "published": published,
        "completeness": completeness(inp, expected),
        "descriptive": descriptive,
        "distribution": distribution,
        "paper_tests": tests,
        "effect_sizes": effects,
        **frames,
        "dose_response": dose,
        "dose_response_mixed": pd.DataFrame(dose_lmm),
        **{name: _guarded_table(build, inp) for name, build in AGREEMENT.items()},
    }
    step("agreement")
    sentences = _sentences(inp, descriptive, published)
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
