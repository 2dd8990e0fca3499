"""PIE selection of an experiment whose seeds are all swept, in this process."""

from django.core.management.base import BaseCommand, CommandError

from common.sparsity import swept
from config.commands import user_errors
from jobs.cli import TqdmProgress
from pruning import params
from pruning.models import Experiment
from pruning.services_experiments import pie_selection_get_or_create
from pruning.steps import select_execute


class Command(BaseCommand):
    help = "Select PIEs (default: the experiment's sparsity, q and definition) and write the table CSV."

    def add_arguments(self, parser):
        parser.add_argument("--experiment", type=int, required=True)
        parser.add_argument("--sparsity", type=float, default=None)
        parser.add_argument("--q", type=float, default=None)
        parser.add_argument("--definition", choices=params.PIE_DEFINITIONS, default=None)
        parser.add_argument(
            "--method", default="", help="a compared method's sweeps (default: its heavy level) instead of the own"
        )

    def handle(self, *args, experiment: int, sparsity, q, definition, method: str, **o):
        exp = Experiment.objects.filter(pk=experiment).first()
        if exp is None:
            raise CommandError(f"no experiment #{experiment}")
        levels, default = exp.sparsities, exp.pie_sparsity
        if method:
            entry = next((e for e in exp.compare_methods if e["method"] == method), None)
            if entry is None:
                compared = ", ".join(e["method"] for e in exp.compare_methods) or "none"
                raise CommandError(
                    f"experiment #{experiment} does not compare method {method!r} (compared: {compared})"
                )
            levels, default = entry["levels"], params.compress.get(method).heavy_level
        sparsity = default if sparsity is None else sparsity
        if not swept(levels, sparsity):
            raise CommandError(f"sparsity {sparsity:g} was not swept (swept: {levels})")
        with user_errors():
            selection = pie_selection_get_or_create(
                experiment=exp, sparsity=sparsity, q=q, definition=definition or "", method=method
            )
        with user_errors(), TqdmProgress("PIE selection") as bar:
            result = select_execute(selection=selection, progress=bar)
        self.stdout.write(
            self.style.SUCCESS(
                f"selection #{selection.pk}: {result['n_pies']} PIEs of {result['n_images']} images "
                f"(NaN rows {result['n_nan']}, tie group at cutoff {result['tie_group_size']}) -> {result['table']}"
            )
        )
