"""Validate and register a dataset from the shell (the same checks as the web form)."""

from django.core.management.base import BaseCommand, CommandError

from config.commands import user_errors
from jobs.cli import TqdmProgress
from pruning.engine.spec import KINDS
from pruning.services_datasets import dataset_register


class Command(BaseCommand):
    help = "Register a dataset: synthetic (--root), nih-cxr-lt/mimic-cxr-lt (--labels-dir, --image-root) or csv."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--kind", required=True, choices=KINDS)
        parser.add_argument("--root", help="synthetic dataset folder")
        parser.add_argument("--labels-dir", help="folder of miccai2023_<kind>_labels_{train,val,test}.csv")
        parser.add_argument("--image-root", help="image folder")
        parser.add_argument("--train-csv")
        parser.add_argument("--val-csv")
        parser.add_argument("--test-csv")
        parser.add_argument("--id-column", default="id")
        parser.add_argument("--path-column", default="")
        parser.add_argument("--no-check-images", action="store_true", help="check the label files only")
        parser.add_argument("--notes", default="")

    def handle(self, *args, name: str, kind: str, **o):
        spec = {
            "kind": kind,
            "root": o["root"],
            "labels_dir": o["labels_dir"],
            "image_root": o["image_root"],
            "id_column": o["id_column"] if kind == "csv" else None,
            "path_column": o["path_column"],
        }
        if kind == "csv":
            spec["split_csvs"] = {"train": o["train_csv"], "val": o["val_csv"], "test": o["test_csv"]}
            if not all(spec["split_csvs"].values()):
                raise CommandError("kind csv needs --train-csv, --val-csv and --test-csv")
        with user_errors(), TqdmProgress("checking images", unit="img") as bar:
            dataset = dataset_register(
                name=name, spec=spec, notes=o["notes"], check_images=not o["no_check_images"], progress=bar
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"dataset {dataset.name!r} (id {dataset.pk}): {dataset.n_train}/{dataset.n_val}/{dataset.n_test} "
                f"images, {len(dataset.class_names)} classes"
            )
        )
