"""Shared pieces of the pruning management commands: tqdm progress, experiment arguments, running
or waiting for a job tree. Commands call the same services and steps as the web pages and jobs."""

import sys
import time
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from pruning import params
from pruning.models import Dataset, Job


class TqdmProgress:
    """A Progress callback drawing one tqdm bar on stderr; a new total (decode, then epochs) resets it."""

    def __init__(self, desc: str, unit: str = "it"):
        from tqdm import tqdm

        self.bar = tqdm(total=0, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=True)

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if total != self.bar.total:
            self.bar.reset(total=total)
        self.bar.n = done
        self.bar.set_postfix_str(message[:60], refresh=False)
        self.bar.refresh()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()


def add_experiment_arguments(parser, *, seeds_default: str = "0") -> None:
    """The knobs of an experiment, with the paper's defaults."""
    parser.add_argument("--dataset", help="name of a registered dataset")
    parser.add_argument("--name", default="", help="experiment name (default: derived from the settings)")
    parser.add_argument("--arch", default="resnet50", help=f"one of {', '.join(params.ARCHS)}")
    parser.add_argument(
        "--init", default=None, help="imagenet, random or a weights file (default: imagenet; random for tiny)"
    )
    parser.add_argument("--seeds", default=seeds_default, help='e.g. "0-29" or "0,1,2"')
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--patience", type=int, default=15)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--prune-method", default="l1", choices=params.PRUNE_METHODS)
    parser.add_argument("--sparsities", default=",".join(f"{s:g}" for s in params.DEFAULT_SPARSITIES))
    parser.add_argument("--pie-sparsity", type=float, default=0.9)
    parser.add_argument("--pie-q", type=float, default=0.05)
    parser.add_argument("--pie-definition", default="spearman", choices=params.PIE_DEFINITIONS)


def experiment_fields(options: dict) -> dict:
    """Command options -> experiment_create keyword arguments; bad values become CommandErrors."""
    if not options.get("dataset"):
        raise CommandError("--dataset NAME is required (see the Datasets page or `manage.py register_dataset`)")
    dataset = Dataset.objects.filter(name=options["dataset"]).first()
    if dataset is None:
        known = ", ".join(Dataset.objects.values_list("name", flat=True)) or "none yet"
        raise CommandError(f"no dataset named {options['dataset']!r} (registered: {known})")
    try:
        seeds = params.parse_seeds(options["seeds"])
        sparsities = params.parse_sparsities(options["sparsities"])
    except params.ParamError as exc:
        raise CommandError(str(exc)) from None
    arch = options["arch"]
    init = options["init"] or ("random" if arch == "tiny" else "imagenet")
    fields = {
        "dataset": dataset,
        "name": options["name"] or f"{dataset.name} {arch} seeds {options['seeds']}",
        "arch": arch,
        "init": init,
        "seeds": seeds,
        "epochs": options["epochs"],
        "batch_size": options["batch_size"],
        "lr": options["lr"],
        "patience": options["patience"],
        "image_size": options["image_size"],
        "prune_method": options["prune_method"],
        "sparsities": sparsities,
        "pie_sparsity": options["pie_sparsity"],
        "pie_q": options["pie_q"],
        "pie_definition": options["pie_definition"],
    }
    errors = params.check_experiment(
        **{k: fields[k] for k in ("seeds", "sparsities", "pie_sparsity", "pie_q", "arch", "init", "prune_method")}
    )
    if errors:
        raise CommandError("; ".join(f"{k}: {v}" for k, v in errors.items()))
    return fields


def validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


@contextmanager
def user_errors():
    """Bad input (a model's ValidationError, an engine's ValueError) becomes a CommandError with the
    message alone, never a traceback."""
    try:
        yield
    except ValidationError as exc:
        raise CommandError(validation_message(exc)) from None
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _tree(parent_id: int):
    return Job.objects.filter(parent_id=parent_id)


def run_tree_here(parent_id: int, write) -> str:
    """Run the queued jobs of a job tree in this process, in creation order, until the parent ends.
    A worker running meanwhile is harmless: every job is claimed atomically by exactly one runner."""
    from pruning.services import job_run

    while True:
        parent = Job.objects.get(pk=parent_id)
        if parent.status == Job.Status.QUEUED:
            job_run(job_id=parent_id)
            continue
        if not parent.is_active:
            return parent.status
        job = _tree(parent_id).filter(status=Job.Status.QUEUED).order_by("id").first()
        if job is None:
            if _tree(parent_id).filter(status=Job.Status.RUNNING).exists():
                time.sleep(0.5)  # a worker elsewhere runs a child
                continue
            return Job.objects.get(pk=parent_id).status
        with TqdmProgress(f"job #{job.pk} {job.kind} {job.params}") as bar:
            status = job_run(job_id=job.pk, echo=bar)
        write(f"job #{job.pk} {job.kind}: {status}")


def wait_for_tree(parent_id: int, timeout: float | None = None) -> str:
    """Follow a job tree a worker runs: one bar for the parent (children finished / total)."""
    deadline = time.monotonic() + timeout if timeout else None
    with TqdmProgress(f"job #{parent_id}") as bar:
        while True:
            parent = Job.objects.get(pk=parent_id)
            bar(parent.progress_done, parent.progress_total, parent.progress_message or parent.status)
            if not parent.is_active:
                return parent.status
            if deadline and time.monotonic() > deadline:
                raise CommandError(f"job #{parent_id} still {parent.status} after {timeout:g} s")
            time.sleep(1.0)
