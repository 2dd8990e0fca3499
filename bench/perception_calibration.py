"""Type-I error, power and CI coverage of every perception method on studies with a planted effect.

Usage: python bench/perception_calibration.py [--reps 200] [--designs crossed:6:240,forms:6:40,crossed:3:60]
       [--conditions null,effect,null-slope,effect-slope] [--methods odds_ratio_twoway,odds_ratio_case]
       [--start 0]

--methods leaves out the REML linear mixed model (about 15 s per 6 x 240 study here, against 0.1 s for
both odds ratios), so the odds ratios can be run with thousands of studies; --start shifts the seeds.

For each design (crossed R:C = R readers each reading all C cases; forms F:n = F readers each reading
their own form of n cases, the study builder's default 6 x 40) and each condition

    null             no PIE effect, readers alike in the PIE effect          -> type-I error, coverage of 0
    effect           simulate.ReaderModel's default effects                  -> power, coverage
    null, slope 1    no average PIE effect; each reader's own PIE effect ~ N(0, 1) on the latent scale
    effect, slope 1  default effects plus reader PIE effects ~ N(0, 1)

it draws --reps seeded studies, runs the statistics page's own code on each (calibration.estimates) and
prints, per method and question, the share of p < 0.05 and the share of 95% CIs that hold the truth.
The truth of a reader-varying effect is the effect of the average reader (slope SD 0; see calibration).
The binomial band printed with each table is where a correct 5% test's rejection share lies 99% of the
time at that replicate count. This is a statistics calibration, not a speed claim, so there is no baseline
ratio: the "baseline" is the nominal 5% / 95%, printed last.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd  # noqa: E402

from analysis.core.perception.calibration import METHODS, binomial_band, calibrate, null_model, truth  # noqa: E402
from analysis.core.perception.simulate import ReaderModel  # noqa: E402
from common.csvsafe import frame_csv_text  # noqa: E402


def _designs(text: str) -> list[tuple[str, int, int]]:
    out = []
    for part in text.split(","):
        kind, a, b = part.split(":")
        out.append((kind, int(a), int(b)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--designs", default="crossed:6:240,forms:6:40,crossed:3:60")
    parser.add_argument("--conditions", default="null,effect,null-slope,effect-slope")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--start", type=int, default=0, help="first seed")
    args = parser.parse_args()
    methods = tuple(args.methods.split(","))
    base = ReaderModel()
    models = {
        "null": null_model(base),
        "effect": base,
        "null-slope": replace(null_model(base), reader_slope_sd=1.0),
        "effect-slope": replace(base, reader_slope_sd=1.0),
    }
    truths = {"null": truth(models["null"]), "effect": truth(base)}
    lo, hi = binomial_band(args.reps)
    pd.set_option("display.width", 200)
    results = []
    for design in _designs(args.designs):
        for cond in args.conditions.split(","):
            start = time.perf_counter()
            seeds = range(args.start, args.start + args.reps)
            table = calibrate(design, models[cond], seeds, truths[cond.split("-")[0]], methods)
            table.insert(0, "condition", cond)
            table.insert(0, "design", f"{design[0]} {design[1]}x{design[2]}")
            results.append(table)
            print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"), flush=True)
            print(f"  ({args.reps} studies in {time.perf_counter() - start:.0f} s)\n", flush=True)
    summary = pd.concat(results, ignore_index=True)
    out = Path(os.environ.get("BENCH_OUT", "/tmp")) / "perception_calibration.csv"
    out.write_text(frame_csv_text(summary), encoding="utf-8")
    print(f"nominal: rejection share 0.050 under the null (99% band at {args.reps} studies: {lo:.3f}-{hi:.3f}); "
          "coverage 0.950")  # fmt: skip


if __name__ == "__main__":
    main()
