"""What every pipeline step reads first: the dataset's splits, decoded images (cached) and torch's
thread count. Its own module so ``pruning.steps`` and ``pruning.steps_methods`` share it without
importing each other (no module cycle inside the app)."""

import os
from pathlib import Path

from django.conf import settings

from pruning.models import Dataset


def cache_dir() -> Path:
    """Decoded image arrays (one .npy per image list and size), shared by every run and sweep."""
    return Path(settings.ARTIFACT_ROOT) / "cache"


def set_torch_threads(arch: str) -> int:
    """CPU threads for torch: TORCH_NUM_THREADS if set; 1 for the tiny net (thread start-up costs
    more than its convolutions); otherwise every core (a GPU worker runs one job at a time)."""
    import torch

    if torch.cuda.is_available():
        return torch.get_num_threads()
    n = int(os.environ.get("TORCH_NUM_THREADS") or (1 if arch == "tiny" else os.cpu_count() or 1))
    torch.set_num_threads(max(1, n))
    return n


def load_dataset(dataset: Dataset) -> dict:
    from pruning.engine.spec import load_splits

    return load_splits(dataset.spec)


def decode(split, size: int, progress=None):
    from pruning.engine.data import decode_images

    return decode_images(split.paths, size, cache_dir=cache_dir(), progress=progress)


# --- training -------------------------------------------------------------------------------------


def train_config(experiment, seed: int, class_names: list[str]):
    """The experiment's training settings as the engine's TrainConfig (training, and IMP's fine-tuning)."""
    from pruning.engine.train import TrainConfig

    return TrainConfig(
        arch=experiment.arch,
        init=experiment.init,
        epochs=experiment.epochs,
        batch_size=experiment.batch_size,
        lr=experiment.lr,
        patience=experiment.patience,
        image_size=experiment.image_size,
        seed=seed,
        class_names=class_names,
        allow_download=settings.ALLOW_WEIGHTS_DOWNLOAD,
    )
