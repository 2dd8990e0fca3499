"""How many readers and cases? Simulated power over a grid of readers x cases, and the smallest design with enough.

Two analyses (--analysis pie,mrmc_auc):
  pie       the PIE test the statistics page publishes: the odds ratio with reader fixed effects (proportional
            odds; logistic for yes/no), two-way (reader and case) cluster-robust Wald, t with readers - 1 df, on
            studies from the project's reader model (simulate.py). Typed in: --effect (PIE log OR, latent
            scale), --reader-sd, --case-sd, --reader-slope-sd, --base, --scale (2 = yes/no); defaults are
            simulate.py's difficulty question. Or a pilot: --study N or --pilot-csv FILE with --question KEY
            (the pilot's published log OR, scale and base; any value typed in as well overrides the pilot's).
  mrmc_auc  the Obuchowski-Rockette comparison of two modalities' AUCs (DeLong, Hillis ddf) on Roe-Metz
            studies; defaults are iMRMC's sim.gRoeMetz components (--var-r 0.03 --var-c 0.30 --var-rc 0.20,
            --mu-pos 1) and the modality effect --delta.
--cases-per-form K splits cases into forms of K (half PIEs) with readers dealt to forms, as this project's
studies are built (a split-plot); 0 = every reader reads every case. Reproducible: --seed fixes every cell.
"""

import json
from pathlib import Path

import pandas as pd
from django.core.management.base import BaseCommand, CommandError

from analysis.core.perception.mrmc_data import json_ready
from analysis.core.perception.roemetz import RoeMetz
from analysis.core.perception.sizing import ANALYSES, SizingRequest, size_study
from analysis.core.perception.sizing_pie import PieModel, pie_model_from_pilot
from common.csvsafe import rows_csv_text
from common.files import atomic_write_text
from config.commands import user_errors

PIE_FIELDS = {
    "effect": float,
    "reader_sd": float,
    "case_sd": float,
    "reader_slope_sd": float,
    "base": float,
    "scale": int,
}


def int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise CommandError(f"Expected whole numbers separated by commas, got {text!r}.") from None
    if not values or min(values) < 1:
        raise CommandError(f"Expected positive whole numbers, got {text!r}.")
    return values


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument("--readers", default="3,6,9", help="Reader counts, comma-separated.")
        parser.add_argument("--cases", default="40,80,120", help="Case counts (all forms together).")
        parser.add_argument("--analysis", default=",".join(ANALYSES), help="pie, mrmc_auc or both.")
        parser.add_argument("--n-sim", type=int, default=200, help="Simulated studies per grid cell.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--alpha", type=float, default=0.05)
        parser.add_argument("--target", type=float, default=0.8, help="Power the smallest design must reach.")
        parser.add_argument("--cases-per-form", type=int, default=0)
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--study", type=int, help="Pilot: a study's answers.")
        source.add_argument("--pilot-csv", type=Path, help="Pilot: a tidy answer CSV (the 'answers' export).")
        parser.add_argument("--question", default="difficulty", help="The pilot's question (default difficulty).")
        for name, kind in PIE_FIELDS.items():
            parser.add_argument("--" + name.replace("_", "-"), type=kind, dest=name)
        for name, default in (("mu_pos", 1.0), ("delta", 0.5), ("var_r", 0.03), ("var_c", 0.30), ("var_rc", 0.20)):
            parser.add_argument("--" + name.replace("_", "-"), type=float, default=default, dest=name)
        parser.add_argument("--positive-fraction", type=float, default=0.5)
        parser.add_argument("--out", type=Path, help="Folder for sizing.json and sizing_grid.csv.")

    def handle(self, *args, **opts):
        typed = {k: opts[k] for k in PIE_FIELDS if opts[k] is not None}
        with user_errors():
            pie, pilot = self._pie_model(opts, typed)
            req = SizingRequest(
                readers=int_list(opts["readers"]),
                cases=int_list(opts["cases"]),
                analyses=[a.strip() for a in opts["analysis"].split(",") if a.strip()],
                n_sim=opts["n_sim"],
                seed=opts["seed"],
                alpha=opts["alpha"],
                target=opts["target"],
                cases_per_form=opts["cases_per_form"],
                pie=pie,
                roemetz=RoeMetz(**{k: opts[k] for k in ("mu_pos", "delta", "var_r", "var_c", "var_rc")}),
                positive_fraction=opts["positive_fraction"],
            )
            if req.n_sim < 1:
                raise ValueError("--n-sim must be at least 1.")
            result = size_study(req, progress=lambda k, n: self.stderr.write(f"\rcell {k}/{n}", ending=""))
        self.stderr.write("")
        result["pilot"] = pilot
        self._print(result)
        if opts["out"]:
            self._write(result, opts["out"])

    def _pie_model(self, opts, typed):
        if opts["study"] is None and opts["pilot_csv"] is None:
            return PieModel(**typed), None
        if opts["study"] is not None:
            from analysis.perception.inputs import study_questions, study_tidy_frame
            from readerstudy.models import Study

            study = Study.objects.filter(pk=opts["study"]).first()
            if study is None:
                raise CommandError(f"No study {opts['study']}.")
            tidy, questions = study_tidy_frame(study=study), study_questions(study=study)
        else:
            try:
                tidy, questions = pd.read_csv(opts["pilot_csv"]), None
            except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
                raise CommandError(f"Cannot read {opts['pilot_csv']}: {exc}") from None
        return pie_model_from_pilot(tidy, opts["question"], questions, **typed)

    def _print(self, result: dict) -> None:
        m = result["request"]["pie"]
        if "pie" in result["request"]["analyses"]:
            self.stdout.write(f"PIE test sized (as published): {result['pie_test']}.")
        if result["pilot"]:
            p = result["pilot"]
            self.stdout.write(
                f"Pilot: published PIE odds ratio {p['odds_ratio']:.3f} (95% CI {p['ci_low']:.3f} to "
                f"{p['ci_high']:.3f}; {p['n_readers']} readers, {p['n_cases']} cases)."
            )
        if "pie" in result["request"]["analyses"]:
            self.stdout.write(
                f"Simulating log OR {m['effect']:.3f} (latent scale), reader SD {m['reader_sd']:.2f}, case SD "
                f"{m['case_sd']:.2f}, reader PIE-effect SD {m['reader_slope_sd']:.2f}, {m['scale']}-point scale."
            )
        header = ["analysis", "readers", "cases", "readings", "power", "mc_se", "n_sim", "note"]
        self.stdout.write("  ".join(header))
        for row in result["grid"]:
            power = "-" if row["power"] is None else f"{row['power']:.3f}"
            mc_se = "-" if row["mc_se"] is None else f"{row['mc_se']:.3f}"
            cells = [row["analysis"], row["readers"], row["cases"], row["readings"], power, mc_se, row["n_sim"]]
            self.stdout.write("  ".join(str(c) for c in cells) + (f"  {row['note']}" if row["note"] else ""))
        for sentence in result["sentences"]:
            self.stdout.write(sentence)

    def _write(self, result: dict, out: Path) -> None:
        columns = ["analysis", "readers", "cases", "readings", "power", "mc_se", "n_sim", "note"]
        text = rows_csv_text([[row.get(c) for c in columns] for row in result["grid"]], header=columns)
        try:
            atomic_write_text(out / "sizing_grid.csv", text)
            atomic_write_text(out / "sizing.json", json.dumps(json_ready(result), indent=2) + "\n")
        except OSError as exc:
            raise CommandError(f"Cannot write to {out}: {exc.strerror}.") from None
        self.stdout.write(f"Wrote {out}")
