"""Multi-label training in the style of torchvision's references/classification.

``train_run`` trains one seed: Adam, BCE-with-logits, early stopping on the validation loss. Out
folder: ``history.csv`` (epoch, phase, loss, mauc, map), ``best.pt`` (best validation loss),
``last.pt`` (end of the latest epoch, for ``resume=True``), ``learning_curves.png``.

Images are uint8 [N, H, W] arrays decoded once; they are moved to the device as uint8 and
normalised (and augmented) there per batch, so epochs are never bound by image decoding.
On CPU a run is reproducible bit for bit, also across an interruption and ``resume=True``: all
randomness after model initialisation comes from one generator whose state is checkpointed.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits

from common.csvsafe import frame_csv_text
from common.files import atomic_write
from common.progress import Progress, report

from .infer import DeviceImages, autocast, check_images, predict_logits, prepare_model, resolve_device, to_model_input
from .nets import build_model
from .train_parts import load_checkpoint, make_augment, mean_auroc_map, save_checkpoint, save_learning_curves

# Changing these mid-run would make a resumed run a different experiment.
_RESUME_MUST_MATCH = ("arch", "init", "batch_size", "lr", "image_size", "seed", "hflip", "rotate_degrees")


@dataclass
class TrainConfig:
    """Every knob of a training run; defaults are the paper's settings."""

    arch: str = "resnet50"
    init: str = "imagenet"  # "imagenet", "random" or a weights file path
    epochs: int = 60
    batch_size: int = 256
    eval_batch_size: int | None = None  # defaults to batch_size
    lr: float = 1e-4
    # The paper's loop runs while epochs_without_improvement <= patience, i.e. it stops after
    # patience + 1 epochs without a better validation loss; we keep that definition.
    patience: int = 15
    image_size: int = 256
    seed: int = 0
    device: str = "auto"  # "auto" = CUDA when available
    amp: bool | str = "auto"  # bf16 autocast on CUDA
    hflip: bool = True
    rotate_degrees: float = 15.0
    deterministic: bool = True  # torch.use_deterministic_algorithms on CPU (cheap there)
    class_names: list[str] | None = field(default=None)
    # init="imagenet" without the cached torchvision file: download it (a worker with internet) or fail fast.
    allow_download: bool = False

    def __post_init__(self) -> None:
        self.init = str(self.init)  # a Path would not survive the weights_only checkpoint load


def _check_split(images, labels, name: str) -> tuple[np.ndarray, np.ndarray]:
    images = check_images(images, f"{name} images")
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"{name} labels must be [N, C] with N={images.shape[0]}, got {labels.shape}")
    bad = ~np.isin(labels, (0, 1))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"{name} labels must be 0/1; row {row}, column {col} is {labels[row, col]}")
    if images.shape[0] == 0:
        raise ValueError(f"{name} split is empty")
    return images, labels


def train_one_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    images: DeviceImages,
    labels: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
) -> dict:
    """One pass over the shuffled training set; returns loss (mean of batch losses), mauc, map."""
    model.train()
    dev = images.device
    augment = make_augment(generator, config.hflip, config.rotate_degrees)
    perm = torch.randperm(len(images), generator=generator)
    losses, outs, ys = [], [], []
    for start in range(0, len(images), config.batch_size):
        idx = perm[start : start + config.batch_size]
        if len(idx) < 2 < len(images):
            continue  # BatchNorm cannot train on a single image; drop a trailing batch of one
        x = to_model_input(images.batch(idx), config.image_size, augment)
        y = labels[idx.to(labels.device)]
        if dev.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(dev, config.amp):
            logits = model(x).float()
        loss = binary_cross_entropy_with_logits(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        outs.append(torch.sigmoid(logits.detach()))
        ys.append(y)
    mauc, mapv = mean_auroc_map(torch.cat(ys).cpu().numpy(), torch.cat(outs).cpu().numpy())
    return {"loss": float(torch.stack(losses).mean()), "mauc": mauc, "map": mapv}


def evaluate(model: nn.Module, images: DeviceImages, labels: torch.Tensor, config: TrainConfig) -> dict:
    """Validation loss (BCE over all images and classes), mean AUROC and mAP."""
    bs = config.eval_batch_size or config.batch_size
    logits = predict_logits(model, images, bs, image_size=config.image_size, amp=config.amp)
    loss = float(binary_cross_entropy_with_logits(logits, labels.to(logits.device)))
    mauc, mapv = mean_auroc_map(labels.cpu().numpy(), torch.sigmoid(logits).cpu().numpy())
    return {"loss": loss, "mauc": mauc, "map": mapv}


class TrainingSet:
    """The training split and settings a compression method fine-tunes with (``compress.imp``), behind the
    same epoch and loss as training, so the method needs no loop (nor an import of this module) of its own."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, config: TrainConfig) -> None:
        self.images, self.labels = _check_split(images, labels, "fine-tune")
        self.config = config
        self._data: tuple[DeviceImages, torch.Tensor] | None = None

    def _on(self, device: torch.device) -> tuple[DeviceImages, torch.Tensor]:
        if self._data is None or self._data[0].device != device:  # converted once per device
            labels = torch.from_numpy(self.labels.astype(np.float32)).to(device)
            self._data = DeviceImages(self.images, device), labels
        return self._data

    def epoch(self, model: nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> float:
        """One training epoch of ``model`` (on its device); its mean batch loss."""
        images, labels = self._on(next(model.parameters()).device)
        return train_one_epoch(model, optimizer, images, labels, self.config, generator)["loss"]

    def loss(self, model: nn.Module) -> float:
        """BCE of ``model`` on the unaugmented training images (eval mode)."""
        images, labels = self._on(next(model.parameters()).device)
        return evaluate(model, images, labels, self.config)["loss"]


def _state_from_checkpoint(ck: dict, config: TrainConfig, path: Path) -> dict:
    saved = ck.get("config", {})
    diff = [k for k in _RESUME_MUST_MATCH if k in saved and saved[k] != getattr(config, k)]
    if diff:
        detail = ", ".join(f"{k}: {saved[k]!r} -> {getattr(config, k)!r}" for k in diff)
        raise ValueError(f"cannot resume from {path}: config changed ({detail})")
    return ck


def train_run(
    config: TrainConfig,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    val_images: np.ndarray,
    val_labels: np.ndarray,
    out_dir,
    progress: Progress | None = None,
    resume: bool = False,
) -> dict:
    """Train one model; see the module docstring for the files written to ``out_dir``.

    ``progress(epoch, epochs, message)`` is called after every epoch, once ``last.pt`` is saved,
    so raising ``Cancelled`` there loses nothing; ``resume=True`` continues from ``last.pt``
    (a finished run returns at once). Returns a summary dict.
    """
    train_images, train_labels, val_images, val_labels = _checked_splits(
        config, train_images, train_labels, val_images, val_labels
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    last_path, best_path = out / "last.pt", out / "best.pt"
    dev = resolve_device(config.device)

    was_deterministic = torch.are_deterministic_algorithms_enabled()
    if dev.type == "cpu" and config.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    elif dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input size: let cuDNN pick fast kernels
    try:
        ck = (
            _state_from_checkpoint(load_checkpoint(last_path), config, last_path)
            if resume and last_path.is_file()
            else None
        )
        model, optimizer, generator, state, history, stopped = _start(config, ck, train_labels.shape[1], dev, out)

        train_data, val_data = DeviceImages(train_images, dev), DeviceImages(val_images, dev)
        ytr = torch.from_numpy(train_labels.astype(np.float32)).to(dev)
        yva = torch.from_numpy(val_labels.astype(np.float32)).to(dev)
        report(progress, state["epoch"], config.epochs, "training: resuming" if ck else "training")
        epoch = ck_epoch = state["epoch"]
        while not stopped and epoch < config.epochs:
            epoch += 1
            tr = train_one_epoch(model, optimizer, train_data, ytr, config, generator)
            va = evaluate(model, val_data, yva, config)
            history += [{"epoch": epoch, "phase": p, **m} for p, m in (("train", tr), ("val", va))]
            if va["loss"] < state["best_val_loss"]:
                state.update(best_val_loss=va["loss"], best_epoch=epoch, epochs_no_improve=0)
            else:
                state["epochs_no_improve"] += 1
            state["epoch"] = epoch
            stopped = state["epochs_no_improve"] > config.patience
            _save_epoch(out, model, optimizer, generator, config, state, history, stopped)
            try:
                report(progress, epoch, config.epochs, f"epoch {epoch}: val loss {va['loss']:.4f}, mAP {va['map']:.3f}")
            except BaseException:
                save_learning_curves(history, out / "learning_curves.png")
                raise
        # Drawn once per call, not per epoch: a matplotlib figure costs more than a tiny epoch.
        if history and (epoch > ck_epoch or not (out / "learning_curves.png").is_file()):
            save_learning_curves(history, out / "learning_curves.png")
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
    return {
        "out_dir": str(out),
        "best_checkpoint": str(best_path),
        "best_epoch": state["best_epoch"],
        "best_val_loss": state["best_val_loss"],
        "epochs_run": state["epoch"],
        "stopped_early": stopped,
        "history": history,
    }


def _checked_splits(config: TrainConfig, train_images, train_labels, val_images, val_labels) -> tuple:
    """Both splits checked (shapes, 0/1 labels) and agreeing with each other and the class names."""
    train_images, train_labels = _check_split(train_images, train_labels, "train")
    val_images, val_labels = _check_split(val_images, val_labels, "val")
    if train_labels.shape[1] != val_labels.shape[1]:
        raise ValueError(f"train has {train_labels.shape[1]} classes, val has {val_labels.shape[1]}")
    num_classes = train_labels.shape[1]
    if config.class_names is not None and len(config.class_names) != num_classes:
        raise ValueError(f"{len(config.class_names)} class names for {num_classes} label columns")
    return train_images, train_labels, val_images, val_labels


def _start(config: TrainConfig, ck: dict | None, num_classes: int, dev: torch.device, out: Path) -> tuple:
    """(model, optimizer, generator, state, history, stopped): seeded and fresh, or restored from ``ck``."""
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    # On resume the weights come from last.pt, so skip the (maybe unavailable) ImageNet file.
    model = build_model(config.arch, num_classes, "random" if ck else config.init, allow_download=config.allow_download)
    prepare_model(model, dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    state = {"epoch": 0, "best_val_loss": math.inf, "best_epoch": 0, "epochs_no_improve": 0}
    if not ck:  # a fresh run must not leave an older run's files next to its own
        for stale in (out / "best.pt", out / "last.pt", out / "history.csv", out / "learning_curves.png"):
            stale.unlink(missing_ok=True)
        return model, optimizer, generator, state, [], False
    model.load_state_dict(ck["model"])
    optimizer.load_state_dict(ck["optimizer"])
    generator.set_state(ck["generator"])
    state = {k: ck[k] for k in state}
    return model, optimizer, generator, state, list(ck["history"]), bool(ck.get("stopped_early", False))


def _save_epoch(out: Path, model, optimizer, generator, config: TrainConfig, state: dict, history, stopped) -> None:
    """best.pt when this epoch is the best so far, last.pt (with the sampler's state) and history.csv."""
    ckpt = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "config": asdict(config),
        "class_names": config.class_names,
        "history": history,
        **state,
    }
    if state["best_epoch"] == state["epoch"]:
        save_checkpoint(ckpt, out / "best.pt")
    save_checkpoint({**ckpt, "generator": generator.get_state(), "stopped_early": stopped}, out / "last.pt")
    csv = frame_csv_text(pd.DataFrame(history, columns=["epoch", "phase", "loss", "mauc", "map"]))
    atomic_write(out / "history.csv", lambda f, text=csv: f.write(text.encode()))
