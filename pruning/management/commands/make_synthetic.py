"""Render the synthetic CXR-LT (and optionally register it), with a tqdm bar."""

from pathlib import Path

from django.core.management.base import BaseCommand

from config.commands import user_errors
from jobs.cli import TqdmProgress
from pruning.steps import synthetic_execute


class Command(BaseCommand):
    help = "Render N synthetic chest X-rays with real NIH label vectors into DIR; --register NAME adds the dataset."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, type=Path, help="output folder")
        parser.add_argument("--n", type=int, default=2000, help="number of images")
        parser.add_argument("--size", type=int, default=256, help="image side in pixels (>= 32)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--register", metavar="NAME", default="", help="register the result as dataset NAME")

    def handle(self, *args, out: Path, n: int, size: int, seed: int, register: str, **options):
        with user_errors(), TqdmProgress("synthetic CXR-LT", unit="img") as bar:
            result = synthetic_execute(
                out_dir=str(out.resolve()), n=n, size=size, seed=seed, name=register, progress=bar
            )
        what = "rendered" if result["rendered"] else "already rendered (same n, size, seed): kept"
        self.stdout.write(f"{result['out_dir']}: {what}")
        if register:
            self.stdout.write(
                self.style.SUCCESS(f"dataset {result['dataset']!r} registered (id {result['dataset_id']})")
            )
