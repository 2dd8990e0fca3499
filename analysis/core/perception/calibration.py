"""Planted-effect calibration: how often each method's p rejects a true null, and its CI covers the truth.

Studies are drawn from ``simulate.ReaderModel`` (known reader, case and PIE effects) in three designs:

    crossed R x C   every one of R readers reads every one of C cases (half PIEs)
    forms F x n     F readers, each reading their own form of n cases (half PIEs): the study builder's
                    default design (6 forms x 40, one reader per form), where every case is read once

Each study goes through the same code as the statistics page (``prepare`` and the model functions), and
each method's estimate, CI and p are compared with the truth. The truth of the odds ratios is the value the
model converges to on a very large study from the same reader model (a pseudo-true value: the reader fixed
effects model estimates the case-averaged odds ratio, not the case-conditional beta planted in the latent
scale); under the null it is exactly 0 (log scale). The truth of the linear mixed model is the difference
in mean rating between PIEs and non-PIEs on the rating scale in that large study.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from analysis.core.perception import mixed_models
from analysis.core.perception.data import prepare
from analysis.core.perception.odds_ratio import ordinal_fit
from analysis.core.perception.simulate import PAPER_QUESTIONS, ReaderModel, simulate

METHODS = ("odds_ratio_twoway", "odds_ratio_case", "mixed_linear")


def study(design: tuple[str, int, int], model: ReaderModel, seed: int) -> pd.DataFrame:
    """A tidy answer table of one simulated study; design = ("crossed", R, C) or ("forms", F, n)."""
    kind, a, b = design
    n_cases = a * b if kind == "forms" else b
    per = b if kind == "forms" else n_cases
    pie = np.arange(n_cases) % per < per // 2  # each form (or the whole set) half PIEs
    cases = pd.DataFrame({"case": np.arange(n_cases), "is_pie": pie})
    readers = [f"R{k + 1:02d}" for k in range(a)]
    if kind == "forms":
        pairs = pd.DataFrame({"reader": np.repeat(readers, b), "case": np.arange(n_cases)})
    else:
        pairs = pd.DataFrame([(r, c) for r in readers for c in range(n_cases)], columns=["reader", "case"])
    answers = simulate(pairs, cases, PAPER_QUESTIONS, model, seed)
    tidy = answers.merge(cases, on="case").rename(columns={"case": "case_id"})
    tidy["question_kind"] = tidy["question"].map(lambda k: PAPER_QUESTIONS[k][1])
    tidy["question_scale"] = tidy["question"].map(lambda k: PAPER_QUESTIONS[k][2])
    return tidy.drop(columns=["pair", "value"])


def estimates(tidy: pd.DataFrame, methods: tuple[str, ...] = METHODS) -> list[dict]:
    """method, question, estimate, ci_low, ci_high, p (log OR / rating-scale difference); NaN if not estimable."""
    inp = prepare(tidy)
    out = []
    for q in inp.questions:
        o = ordinal_fit(inp, q)
        b = o.get("log_or", np.nan)
        found = {
            "odds_ratio_twoway": (b, *np.log([o.get("ci_low", np.nan), o.get("ci_high", np.nan)]), o.get("p", np.nan)),
            "odds_ratio_case": (
                b, *np.log([o.get("ci_low_case", np.nan), o.get("ci_high_case", np.nan)]), o.get("p_case", np.nan)
            ),
        }  # fmt: skip
        if "mixed_linear" in methods:
            m = mixed_models.mixed_linear(inp, q)
            found["mixed_linear"] = tuple(m.get(k, np.nan) for k in ("estimate", "ci_low", "ci_high", "p"))
        for method in methods:
            v = found[method]
            keys = ("method", "question", "estimate", "ci_low", "ci_high", "p")
            out.append(dict(zip(keys, (method, q.key, *v), strict=True)))
    return out


def truth(model: ReaderModel, n_readers: int = 40, n_cases: int = 2000, seed: int = 12345) -> dict:
    """(method, question) -> the pseudo-true value (see the module docstring); exactly 0 under the null."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _truth(model, n_readers, n_cases, seed)


def _truth(model: ReaderModel, n_readers: int, n_cases: int, seed: int) -> dict:
    null = all(v == 0 for v in model.pie_effect.values())
    big = study(("crossed", n_readers, n_cases), model, seed) if not null else None
    out = {}
    for key in PAPER_QUESTIONS:
        if null:
            values = dict.fromkeys(METHODS, 0.0)
        else:
            rows = big[big["question"] == key]
            inp = prepare(rows)
            o = ordinal_fit(inp, inp.questions[0])
            diff = rows.groupby("is_pie")["value_numeric"].mean()
            values = {"odds_ratio_twoway": o["log_or"], "odds_ratio_case": o["log_or"]}
            values["mixed_linear"] = float(diff[True] - diff[False])
        out.update({(m, key): v for m, v in values.items()})
    return out


def calibrate(
    design, model: ReaderModel, seeds: Iterable[int], truth_values: dict | None = None, methods=METHODS
) -> pd.DataFrame:
    """method, question, n, rejected (share of p < 0.05), covered (share of CIs holding the truth), failed."""
    from threadpoolctl import threadpool_limits

    truth_values = truth(model) if truth_values is None else truth_values
    rows = []
    for seed in seeds:
        with threadpool_limits(limits=1):  # thousands of small solves: BLAS threads only cost (compute.py)
            found = estimates(study(design, model, seed), methods)
        for e in found:
            t = truth_values[(e["method"], e["question"])]
            ok = np.isfinite(e["p"])
            rows.append({**e, "rejected": ok and e["p"] < 0.05, "covered": ok and e["ci_low"] <= t <= e["ci_high"],
                         "failed": not ok})  # fmt: skip
    frame = pd.DataFrame(rows)
    return (
        frame.groupby(["method", "question"], sort=False)
        .agg(n=("p", "size"), rejected=("rejected", "mean"), covered=("covered", "mean"), failed=("failed", "sum"))
        .reset_index()
    )


def binomial_band(n: int, rate: float = 0.05, level: float = 0.99) -> tuple[float, float]:
    """The central `level` range of the share of rejections among n replicates at the nominal rate."""
    lo, hi = stats.binom.interval(level, n, rate)
    return lo / n, hi / n


def null_model(model: ReaderModel) -> ReaderModel:
    return replace(model, pie_effect=dict.fromkeys(model.pie_effect, 0.0))
