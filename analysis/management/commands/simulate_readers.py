"""Fill a study's assignments with simulated answers (flagged as simulated everywhere they appear).

Generative model (analysis.core.perception.simulate): for reader r, case c and question q,
    z = base_q + effect_q * PIE + leniency_r + difficulty_c + truth_q(c) + noise_r * e,
    leniency_r ~ N(0, reader_sd^2), difficulty_c ~ N(0, case_sd^2), noise_r ~ U(0.7, 1.3), e ~ logistic.
Likert answers are z rounded to the nearest point (clipped to 1..K); yes/no is "yes" iff z > 0. For
synthetic datasets the case's hidden truth drives the ratings: poorer true quality lowers quality and
agreement and raises difficulty, subtle findings raise difficulty, a noisy label lowers agreement.
Defaults follow the paper's direction: PIEs rated lower in quality, harder, and agreed with less.
"""

from django.core.management.base import BaseCommand, CommandError

from analysis.core.perception.simulate import ReaderModel
from analysis.perception.simulation import study_simulate_readers
from config.commands import user_errors
from readerstudy.models import Study


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument("--study", type=int, required=True)
        parser.add_argument("--readers", type=int, help="Create this many new simulated readers (else fill all).")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--reader-sd", type=float, default=0.5, help="SD of reader leniency (latent scale).")
        parser.add_argument("--case-sd", type=float, default=0.5, help="SD of case difficulty (latent scale).")

    def handle(self, *args, **opts):
        study = Study.objects.filter(pk=opts["study"]).first()
        if study is None:
            raise CommandError(f"No study {opts['study']}.")
        if opts["readers"] is not None and opts["readers"] < 1:
            raise CommandError("--readers must be at least 1.")
        model = ReaderModel(reader_sd=opts["reader_sd"], case_sd=opts["case_sd"])
        with user_errors():
            result = study_simulate_readers(study=study, n_readers=opts["readers"], seed=opts["seed"], model=model)
        self.stdout.write(
            f"Simulated {result.n_answers} answers for {result.n_readers} readers in study {study.pk} "
            "(flagged as simulated)."
        )
