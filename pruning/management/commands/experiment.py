"""Start a whole experiment (train, sweep and PIEs for every seed) from the shell."""

from django.core.management.base import BaseCommand, CommandError

from config.commands import user_errors
from jobs.cli import run_tree_here, wait_for_tree
from pruning.management.cli import add_experiment_arguments, experiment_fields
from pruning.services_experiments import experiment_create


class Command(BaseCommand):
    help = (
        "Create an experiment and queue its pipeline for the Celery workers. --wait follows it with a "
        "progress bar; --here runs every step in this process instead (no worker needed)."
    )

    def add_arguments(self, parser):
        add_experiment_arguments(parser, seeds_default="0-29")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--wait", action="store_true", help="wait for the workers to finish it")
        group.add_argument("--here", action="store_true", help="run the jobs in this process")
        parser.add_argument("--timeout", type=float, default=None, help="with --wait: give up after this many s")

    def handle(self, *args, **o):
        fields = experiment_fields(o)
        with user_errors():
            experiment = experiment_create(start=True, **fields)
        self.stdout.write(f"experiment #{experiment.pk} ({experiment.n_seeds} seeds), job #{experiment.job_id}")
        if not (o["wait"] or o["here"]):
            return
        status = (
            run_tree_here(experiment.job_id, self.stdout.write)
            if o["here"]
            else wait_for_tree(experiment.job_id, o["timeout"])
        )
        self.stdout.write(f"job #{experiment.job_id}: {status}")
        if status != "succeeded":
            from jobs.models import Job

            raise CommandError(Job.objects.get(pk=experiment.job_id).error or f"job ended {status}")
