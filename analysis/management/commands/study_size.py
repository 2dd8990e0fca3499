"""How many readers and cases? Simulated power over a grid of readers x cases, and the smallest design with enough.

Two analyses (--analysis pie,mrmc_auc):
  pie       the PIE effect in the crossed linear mixed model (the project's primary analysis). Components are
            typed in (--effect, --var-reader, --var-case, --var-residual, --base, --likert) or taken from a
            pilot: --study N or --pilot-csv FILE with --question KEY (the pilot's mixed-model estimates; any
            component typed in as well overrides the pilot's).
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

PIE_FIELDS = {"effect": "effect", "var_reader": "var-reader", "var_case": "var-case", "var_residual": "var-residual"}


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
        for name, flag in PIE_FIELDS.items():
            parser.add_argument(f"--{flag}", type=float, dest=name)
        parser.add_argument("--base", type=float)
        parser.add_argument("--likert", type=int, default=0, help="Round ratings to 1..K (0: continuous).")
        for name, default in (("mu_pos", 1.0), ("delta", 0.5), ("var_r", 0.03), ("var_c", 0.30), ("var_rc", 0.20)):
            parser.add_argument("--" + name.replace("_", "-"), type=float, default=default, dest=name)
        parser.add_argument("--positive-fraction", type=float, default=0.5)
        parser.add_argument("--out", type=Path, help="Folder for sizing.json and sizing_grid.csv.")

    def handle(self, *args, **opts):
        typed = {k: opts[k] for k in (*PIE_FIELDS, "base") if opts[k] is not None}
        typed["likert"] = opts["likert"]
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
        if result["pilot"]:
            p, m = result["pilot"], result["request"]["pie"]
            self.stdout.write(
                f"Pilot: PIE effect {p['estimate']:.3f} (95% CI {p['ci_low']:.3f} to {p['ci_high']:.3f}; "
                f"{p['n_readers']} readers, {p['n_cases']} cases). Simulating effect {m['effect']:.3f}, var_reader "
                f"{m['var_reader']:.3f}, var_case {m['var_case']:.3f}, var_residual {m['var_residual']:.3f}, "
                f"base {m['base']:.2f}."
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
