"""Obuchowski-Rockette MRMC analysis of empirical AUCs (Hillis ddf) for a study run anywhere.

Input: a CSV with one row per rating and the columns reader, modality, case, truth (1 = positive, 0 =
negative) and rating (higher = more likely positive). Output: DIR/mrmc.json with the AUC per modality and
per reader, the mean squares, Var(error), Cov1-Cov3, the F test (F, df1, ddf, p), CIs per modality and for
each difference, the fixed-reader analysis, the design (crossed, split-plot, ...) and notes on anything that
could not be estimated (one reader, one modality).
"""

import json
from pathlib import Path

import pandas as pd
from django.core.management.base import BaseCommand, CommandError

from analysis.core.perception.mrmc import COV_METHODS, analyse
from analysis.core.perception.mrmc_data import json_ready, prepare_mrmc
from common.files import atomic_write_text
from config.commands import user_errors


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument("--csv", type=Path, required=True, help="reader, modality, case, truth, rating")
        parser.add_argument("--out", type=Path, required=True, help="Folder for mrmc.json.")
        parser.add_argument("--cov", choices=COV_METHODS, default="delong", help="AUC covariance (default DeLong).")

    def handle(self, *args, **opts):
        try:
            frame = pd.read_csv(opts["csv"], dtype=str, keep_default_na=False)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {opts['csv']}: {exc}") from None
        with user_errors():
            result = analyse(prepare_mrmc(frame), opts["cov"])
        try:
            path = atomic_write_text(Path(opts["out"]) / "mrmc.json", json.dumps(json_ready(result), indent=2) + "\n")
        except OSError as exc:
            raise CommandError(f"Cannot write to {opts['out']}: {exc.strerror}.") from None
        self._print(result)
        self.stdout.write(f"Wrote {path}")

    def _print(self, res: dict) -> None:
        self.stdout.write(
            f"{res['method']}; covariance {res['cov_method']}; design {res['design']}; "
            f"{res['n_readers']} readers, {res['n_cases']} cases ({res['n_positive']} positive)"
        )
        for m in res["modality"]:
            ci = f" (95% CI {m['ci_low']:.4f}-{m['ci_high']:.4f}, df {m['df']:.2f})" if "ci_low" in m else ""
            self.stdout.write(f"  AUC {m['modality']}: {m['auc']:.4f}{ci}")
        covs = "  ".join(f"{k} {res[k]:.6g}" for k in ("var_error", "cov1", "cov2", "cov3"))
        self.stdout.write(f"  {covs}")
        test = res["random_readers"]
        if "F" in test:
            self.stdout.write(
                f"  F = {test['F']:.6g}, df1 = {test['df1']}, ddf = {test['ddf']:.6g}, p = {test['p']:.6g}"
            )
        for d in res["differences"]:
            if "ci_low" in d:
                self.stdout.write(
                    f"  {d['comparison']}: {d['estimate']:.4f} (95% CI {d['ci_low']:.4f} to {d['ci_high']:.4f})"
                )
        for note in res["notes"]:
            self.stdout.write(f"  {note}")
