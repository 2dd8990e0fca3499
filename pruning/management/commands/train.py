"""Train one seed of an experiment (or a one-seed experiment on a dataset) in this process."""

from django.core.management.base import BaseCommand, CommandError

from config.commands import user_errors
from jobs.cli import TqdmProgress
from pruning.management.cli import add_experiment_arguments, experiment_fields
from pruning.models import Experiment, TrainingRun
from pruning.services_experiments import experiment_create
from pruning.steps import train_execute


class Command(BaseCommand):
    help = (
        "Train: `--experiment ID --seed S` trains (or resumes) that seed; `--dataset NAME --seed S ...` "
        "records a one-seed experiment first. A trained seed is left as it is."
    )

    def add_arguments(self, parser):
        parser.add_argument("--experiment", type=int, help="experiment id")
        parser.add_argument("--seed", type=int, default=None)
        add_experiment_arguments(parser)

    def handle(self, *args, **o):
        if o["experiment"]:
            experiment = Experiment.objects.filter(pk=o["experiment"]).first()
            if experiment is None:
                raise CommandError(f"no experiment #{o['experiment']}")
            seed = o["seed"] if o["seed"] is not None else experiment.seeds[0]
        else:
            seed = o["seed"] if o["seed"] is not None else 0
            fields = experiment_fields({**o, "seeds": str(seed)})
            fields["name"] = o["name"] or f"train {fields['dataset'].name} {fields['arch']} seed {seed}"
            with user_errors():
                experiment = experiment_create(start=False, **fields)
            self.stdout.write(f"experiment #{experiment.pk} created")
        run = TrainingRun.objects.filter(experiment=experiment, seed=seed).first()
        if run is None:
            raise CommandError(f"experiment #{experiment.pk} has no seed {seed} (seeds: {experiment.seeds_label})")
        with user_errors(), TqdmProgress(f"train seed {seed}", unit="epoch") as bar:
            result = train_execute(run=run, progress=bar)
        note = " (already trained)" if result.get("skipped") else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"seed {seed}: best epoch {result['best_epoch']}, val loss {result['best_val_loss']}{note}"
                f" -> {result['out_dir']}"
            )
        )
