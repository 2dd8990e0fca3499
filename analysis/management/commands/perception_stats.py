"""Perception statistics (Figure 6 and the reader-aware models) for a study or an exported tidy CSV."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis.core.perception.checks import PerceptionInputError, read_tidy_csv
from analysis.core.perception.compute import compute_perception
from analysis.perception.inputs import study_expected_pairs, study_questions, study_tidy_frame
from readerstudy.models import Study

PAPER_COLUMNS = ["question", "group", "n", "mean", "sd", "note"]


class Command(BaseCommand):
    help = "Write the perception tables (CSV), summary.json and figures; print the paper-exact table and sentences."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--study", type=int)
        source.add_argument("--csv", type=Path, help="A tidy answer CSV (the study's 'answers' export).")
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument(
            "--fast", action="store_true", help="Skip the ordinal bootstrap CI (seconds, not a minute)."
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--formats", default="png,svg,pdf")
        parser.add_argument(
            "--mrmc", action="store_true", help="Also the VGC-style MRMC analysis (PIE as truth): mrmc_vgc.json."
        )
        parser.add_argument("--mrmc-cov", choices=("delong", "jackknife"), default="delong")

    def handle(self, *args, **opts):
        expected = questions = None
        if opts["study"] is not None:
            study = Study.objects.filter(pk=opts["study"]).first()
            if study is None:
                raise CommandError(f"No study {opts['study']}.")
            tidy, expected = study_tidy_frame(study=study), study_expected_pairs(study=study)
            questions = study_questions(study=study)
        else:
            try:
                tidy = read_tidy_csv(opts["csv"])
            except OSError as exc:
                raise CommandError(f"Cannot read {opts['csv']}: {exc.strerror}.") from None
            except PerceptionInputError as exc:
                raise CommandError(f"{opts['csv']}: {exc}") from None
        try:
            result = compute_perception(
                tidy,
                stage="fast" if opts["fast"] else "full",
                expected=expected,
                questions=questions,
                seed=opts["seed"],
            )
        except PerceptionInputError as exc:
            raise CommandError(str(exc)) from None
        except Exception as exc:  # the edge: a bug must still reach the user as one line, not a traceback
            first = (str(exc).strip().splitlines() or [""])[0]
            raise CommandError(f"The statistics could not be computed ({type(exc).__name__}: {first}).") from None
        formats = [f.strip() for f in opts["formats"].split(",") if f.strip()]
        try:
            result.write(opts["out"], formats)
        except OSError as exc:
            raise CommandError(f"Cannot write to {opts['out']}: {exc.strerror}.") from None
        table = result.tables["descriptive"][PAPER_COLUMNS].merge(
            result.tables["paper_tests"][["question", "welch_p", "mwu_p", "kw_p"]], on="question", how="left"
        )
        dropped = result.summary["duplicates_dropped"]
        if dropped:
            self.stdout.write(f"{dropped} identical duplicate answer(s) dropped (each counted once).")
        self.stdout.write("Paper-exact (pooled answers, as in the paper's Figure 6):")
        self.stdout.write(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        self.stdout.write("")
        for sentence in result.sentences:
            self.stdout.write(sentence)
        if opts["mrmc"]:
            self._mrmc(tidy, questions, opts)
        self.stdout.write(f"\nWrote {opts['out']}")

    def _mrmc(self, tidy, questions, opts) -> None:
        from analysis.core.perception.vgc import write_vgc

        result = write_vgc(tidy, questions, opts["out"], opts["mrmc_cov"])
        self.stdout.write("\nMRMC, VGC-style (" + result["definition"] + "):")
        for sentence in result["sentences"]:
            self.stdout.write(sentence)
