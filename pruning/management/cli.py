"""Shared pieces of the pruning management commands: experiment arguments and user errors. Commands
call the same services and steps as the web pages and jobs (progress bars and job trees: jobs.cli)."""

from django.core.management.base import CommandError

from config.commands import user_errors
from pruning import params
from pruning.models import Dataset


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
    parser.add_argument("--sparsities", default=None, help="levels of --prune-method (default: the method's)")
    parser.add_argument(
        "--pie-sparsity", type=float, default=None, help="default: the method's heavy level (0.9 for l1)"
    )
    parser.add_argument(
        "--compare",
        default="",
        help='more methods swept on the same seeds, e.g. "int8_static; structured: 0, 0.25, 0.5"',
    )
    parser.add_argument(
        "--method-params",
        default="",
        help='parameters of methods that have some, e.g. "imp: finetune_epochs=2, rewind=true"',
    )
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
    with user_errors():
        seeds = params.parse_seeds(options["seeds"])
        spec = params.compress.get(options["prune_method"])
        given = options["sparsities"]
        sparsities = params.parse_sparsities(given) if given is not None else list(spec.default_levels)
        compare = params.parse_compare(options.get("compare") or "")
        method_params = params.parse_method_params(options.get("method_params") or "")
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
        "pie_sparsity": spec.heavy_level if options["pie_sparsity"] is None else options["pie_sparsity"],
        "pie_q": options["pie_q"],
        "pie_definition": options["pie_definition"],
        "compare_methods": compare,
        "method_params": method_params,
    }
    keys = ("seeds", "sparsities", "pie_sparsity", "pie_q", "arch", "init", "prune_method", "compare_methods")
    keys += ("method_params",)
    errors = params.check_experiment(**{k: fields[k] for k in keys})
    if errors:
        raise CommandError("; ".join(f"{k}: {v}" for k, v in errors.items()))
    return fields
