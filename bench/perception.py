"""Claim: the perception statistics of a 6-reader x 240-case study take under 10 s for the fast part
(paper-exact tables, a vectorised two-way cluster bootstrap of the effect sizes with 2,000 replicates,
the crossed MixedLM, the ordinal/logistic fits with case-clustered CIs, agreement, figures) and under
60 s for everything (adding 200 warm-started cluster-bootstrap refits of each odds ratio and the
dose-response mixed models), on 2 cores.

Data: simulated readers (analysis.core.perception.simulate), every reader reads every case (1,440
answers per question, 3 questions). Baseline for the slowest part: the same 200 bootstrap replicates
refitted with statsmodels ``OrderedModel`` (timed on --baseline-reps replicates and scaled to 200).

    .venv/bin/python bench/perception.py [--readers 6] [--cases 240] [--baseline-reps 20]

Prints each part's time, ours vs the baseline for the bootstrap and their ratio, and the total last.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.core.perception.compute import compute_perception  # noqa: E402
from analysis.core.perception.data import prepare  # noqa: E402
from analysis.core.perception.effects import draw_weights  # noqa: E402
from analysis.core.perception.ordinal import design, fit_statsmodels  # noqa: E402
from analysis.core.perception.simulate import simulated_tidy  # noqa: E402


def baseline_bootstrap_seconds(tidy: pd.DataFrame, reps: int) -> float:
    """statsmodels OrderedModel refitted on rows replicated by the same two-way cluster weights."""
    from threadpoolctl import threadpool_limits

    inp = prepare(tidy)
    rows = inp.of("quality")
    codes, x, readers, _ = design(rows)
    case_pie = rows.drop_duplicates("case").set_index("case")["is_pie"]
    w = draw_weights(len(readers), case_pie.to_numpy(bool), reps, 0)
    r_idx = pd.Index(readers).get_indexer(rows["reader"])
    c_idx = pd.Index(list(case_pie.index)).get_indexer(rows["case"])
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        for b in range(reps):
            copies = np.repeat(np.arange(len(codes)), (w.readers[b, r_idx] * w.cases[b, c_idx]).astype(int))
            if len(np.unique(codes[copies])) == len(np.unique(codes)):
                # Reader dummies of the readers drawn (the first drawn one is the reference: no constant).
                drawn = rows["reader"].to_numpy()[copies]
                dummies = pd.get_dummies(drawn, drop_first=True).to_numpy(float)
                fit_statsmodels(codes[copies], np.column_stack([x[copies, 0], dummies]))
    return time.perf_counter() - start


def mixed_models_seconds(tidy: pd.DataFrame) -> tuple[float, float, float]:
    """The crossed PIE models of every question, ours (analysis/core/perception/mixed_reml.py) and statsmodels' MixedLM
    with readers and cases as variance components of one group (what the statistics used before), both
    single-threaded; returns (ours s, statsmodels s, largest |difference| of the PIE effect)."""
    from statsmodels.regression.mixed_linear_model import MixedLM
    from threadpoolctl import threadpool_limits

    from analysis.core.perception.mixed_reml import fit_crossed_intercepts

    inp = prepare(tidy)
    ours_s = base_s = diff = 0.0
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' convergence chatter; the PIE effects are compared below
        for q in inp.questions:
            rows = inp.of(q.key)
            y, pie = rows["y"].to_numpy(float), rows["is_pie"].to_numpy(float)
            start = time.perf_counter()
            ours = fit_crossed_intercepts(
                y,
                np.column_stack([np.ones(len(y)), pie]),
                {"reader": rows["reader"].to_numpy(), "case": rows["case"].to_numpy()},
            )
            ours_s += time.perf_counter() - start
            data = pd.DataFrame({"y": y, "x": pie, "reader": rows["reader"], "case": rows["case"], "one": 1})
            vc = {"reader": "0 + C(reader)", "case": "0 + C(case)"}
            start = time.perf_counter()
            ref = MixedLM.from_formula("y ~ x", groups="one", vc_formula=vc, data=data).fit(reml=True, method=["lbfgs"])
            base_s += time.perf_counter() - start
            diff = max(diff, abs(float(ref.fe_params["x"]) - float(ours.beta[1])))
    return ours_s, base_s, diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=6)
    parser.add_argument("--cases", type=int, default=240)
    parser.add_argument("--baseline-reps", type=int, default=20)
    args = parser.parse_args()
    tidy = simulated_tidy(args.readers, args.cases, seed=1)
    print(f"{args.readers} readers x {args.cases} cases, {len(tidy)} answers (3 questions)")

    start = time.perf_counter()
    fast = compute_perception(tidy, stage="fast")
    fast_s = time.perf_counter() - start
    print(f"fast part: {fast_s:.1f} s (target < 10 s)  {fast.summary['timings_s']}")

    start = time.perf_counter()
    full = compute_perception(tidy, stage="full")
    full_s = time.perf_counter() - start
    print(f"everything: {full_s:.1f} s (target < 60 s)  {full.summary['timings_s']}")
    print(f"total (fast part + everything): {fast_s + full_s:.1f} s")

    n_likert_and_yes_no = len(full.summary["questions"])
    ours = full.summary["timings_s"]["odds_ratio"] - fast.summary["timings_s"]["odds_ratio"]
    base = baseline_bootstrap_seconds(tidy, args.baseline_reps) * 200 / args.baseline_reps * n_likert_and_yes_no
    ratio = base / max(ours, 1e-9)
    print(
        f"bootstrap of the odds ratios, 200 replicates x {n_likert_and_yes_no} questions: ours {ours:.1f} s, "
        f"statsmodels OrderedModel refits {base:.1f} s (scaled from {args.baseline_reps}), ratio {ratio:.1f}x"
    )
    ours_lmm, base_lmm, diff = mixed_models_seconds(tidy)
    print(
        f"crossed linear mixed models, {n_likert_and_yes_no} questions: ours {ours_lmm:.2f} s, statsmodels MixedLM "
        f"{base_lmm:.1f} s (PIE effects differ by at most {diff:.1e}), ratio {base_lmm / max(ours_lmm, 1e-9):.0f}x"
    )


if __name__ == "__main__":
    main()
