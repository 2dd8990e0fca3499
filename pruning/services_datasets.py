"""Writes for datasets: register (after validation), and render the synthetic demo set as a job.

Validation uses the engine's loaders (pandas/PIL, no torch), so the web process can run it.
"""

from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.roles import actor
from jobs.models import Job
from jobs.services import job_create
from pruning import kinds
from pruning.models import Dataset


def spec_normalise(spec: dict) -> dict:
    """Absolute paths, empty optional keys dropped, so equal datasets have equal specs."""
    out = {}
    for key, value in spec.items():
        if value in (None, "", [], {}):
            continue
        if key in ("root", "labels_dir", "image_root"):
            value = str(Path(value).expanduser().resolve())
        elif key == "split_csvs":
            value = {s: str(Path(p).expanduser().resolve()) for s, p in value.items()}
        out[key] = value
    return out


def dataset_validate(*, spec: dict, check_images: bool = True, progress=None) -> tuple[list[str], dict[str, int]]:
    """(class names, images per split), or DatasetError (a ValueError) naming the file, row or value."""
    from pruning.engine.data import validate_splits
    from pruning.engine.spec import load_splits

    splits = load_splits(spec)
    counts = validate_splits(splits, check_images=check_images, progress=progress)
    return list(splits["train"].class_names), counts


def dataset_register(
    *, name: str, spec: dict, notes: str = "", user=None, check_images: bool = True, progress=None
) -> Dataset:
    """Validate and record a dataset. Registering the same spec under the same name again refreshes
    the counts (idempotent); another spec under a taken name is an error."""
    spec = spec_normalise(spec)
    existing = Dataset.objects.filter(name=name).first()
    if existing and existing.spec != spec:
        raise ValidationError({"name": f"a dataset named {name!r} already exists with other paths"})
    class_names, counts = dataset_validate(spec=spec, check_images=check_images, progress=progress)
    dataset = existing or Dataset(name=name, created_by=actor(user))
    dataset.kind = spec["kind"]
    dataset.spec = spec
    dataset.class_names = class_names
    dataset.n_train, dataset.n_val, dataset.n_test = counts["train"], counts["val"], counts["test"]
    dataset.validated_at = timezone.now()
    dataset.images_checked = check_images
    dataset.notes = notes or dataset.notes
    dataset.full_clean()
    dataset.save()
    return dataset


def synthetic_default_dir(name: str) -> Path:
    return Path(settings.ARTIFACT_ROOT) / "datasets" / name


def dataset_make_synthetic_start(
    *,
    name: str,
    n: int,
    size: int,
    seed: int = 0,
    out_dir: str = "",
    fractions: Sequence[float] | None = None,
    replace: bool = False,
    user=None,
) -> Job:
    """Queue a job that renders the synthetic CXR-LT and registers it as dataset ``name``. An existing dataset
    of that name is refused unless ``replace`` (the demo re-renders its own at another scale)."""
    if not replace and Dataset.objects.filter(name=name).exists():
        raise ValidationError({"name": f"a dataset named {name!r} already exists"})
    out = str(Path(out_dir).resolve()) if out_dir else str(synthetic_default_dir(name))
    params = {"name": name, "n": int(n), "size": int(size), "seed": int(seed), "out_dir": out}
    if fractions is not None:
        params["fractions"] = [float(f) for f in fractions]
    with transaction.atomic():
        return job_create(kind=kinds.MAKE_SYNTHETIC, params=params, user=user, artifact_dir=out)
