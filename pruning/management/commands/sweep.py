"""Pruning sweep of trained seeds into their prediction stores, in this process (resumable)."""

from django.core.management.base import BaseCommand, CommandError

from config.commands import user_errors
from jobs.cli import TqdmProgress
from pruning.models import Experiment, PruningSweep
from pruning.steps import sweep_execute


class Command(BaseCommand):
    help = "Prune every trained seed of an experiment (or --seed S) at every sparsity and store its predictions."

    def add_arguments(self, parser):
        parser.add_argument("--experiment", type=int, required=True)
        parser.add_argument("--seed", type=int, default=None, help="one seed (default: every trained seed)")

    def handle(self, *args, experiment: int, seed: int | None, **o):
        exp = Experiment.objects.filter(pk=experiment).first()
        if exp is None:
            raise CommandError(f"no experiment #{experiment}")
        sweeps = PruningSweep.objects.filter(training_run__experiment=exp).select_related("training_run")
        if seed is not None:
            sweeps = sweeps.filter(training_run__seed=seed)
            if not sweeps.exists():
                raise CommandError(f"experiment #{exp.pk} has no seed {seed} (seeds: {exp.seeds_label})")
        else:
            sweeps = sweeps.filter(training_run__finished_at__isnull=False)
        for sweep in sweeps.order_by("training_run__seed"):
            with user_errors(), TqdmProgress(f"sweep seed {sweep.training_run.seed}", unit="sparsity") as bar:
                result = sweep_execute(sweep=sweep, progress=bar)
            note = " (already done)" if result.get("skipped") else ""
            self.stdout.write(f"seed {result['seed']}: {result['n_done']} sparsities{note} -> {result['predictions']}")
