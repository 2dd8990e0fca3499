"""Import the paper's released predictions (`{dataset}_resnet50_seed-{s}_prune-{r}.pkl`) as an experiment."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.commands import user_errors
from jobs.cli import TqdmProgress
from pruning.models import Dataset
from pruning.services_datasets import dataset_register
from pruning.services_experiments import pie_selection_get_or_create
from pruning.services_import import experiment_import_prunecxr
from pruning.steps import select_execute


class Command(BaseCommand):
    help = (
        "Import PruneCXR prediction pickles from --dir into prediction stores (an 'imported' experiment) "
        "that PIE selection and the analysis read. Pickles can run code: import only trusted files."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", required=True, type=Path, help="folder of the .pkl files")
        parser.add_argument("--dataset", required=True, help="dataset part of the file names, e.g. nih-cxr-lt")
        parser.add_argument("--into", default="", help="registered dataset the rows belong to (default: --dataset)")
        parser.add_argument("--labels", type=Path, help="paper label CSV folder: registers --dataset if missing")
        parser.add_argument("--images", type=Path, help="with --labels: the image root (images are then checked)")
        parser.add_argument("--arch", default="resnet50")
        parser.add_argument("--name", default="")
        parser.add_argument("--select-pies", action="store_true", help="also select PIEs (sparsity 0.9, q 0.05)")

    def handle(self, *args, **o):
        dataset = self._dataset(o)
        with user_errors(), TqdmProgress("import", unit="seed") as bar:
            experiment = experiment_import_prunecxr(
                folder=o["dir"],
                file_dataset=o["dataset"],
                dataset=dataset,
                arch=o["arch"],
                name=o["name"],
                progress=bar,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"experiment #{experiment.pk}: seeds {experiment.seeds_label}, "
                f"{len(experiment.sparsities)} sparsities, stores under {experiment.artifact_dir}"
            )
        )
        if o["select_pies"]:
            selection = pie_selection_get_or_create(experiment=experiment)
            with TqdmProgress("PIE selection") as bar:
                result = select_execute(selection=selection, progress=bar)
            self.stdout.write(f"selection #{selection.pk}: {result['n_pies']} PIEs of {result['n_images']} images")

    def _dataset(self, o) -> Dataset:
        name = o["into"] or o["dataset"]
        dataset = Dataset.objects.filter(name=name).first()
        if dataset is not None:
            return dataset
        if o["into"] or not o["labels"]:
            raise CommandError(f"no dataset named {name!r}: register it first, or pass --labels DIR (paper label CSVs)")
        spec = {"kind": o["dataset"], "labels_dir": str(o["labels"]), "image_root": str(o["images"] or o["labels"])}
        with user_errors():
            return dataset_register(
                name=name,
                spec=spec,
                check_images=bool(o["images"]),
                notes="Registered while importing PruneCXR predictions.",
            )
