"""Pieces of the training loop: on-device augmentation, metrics, checkpoint and figure writing."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable

import numpy as np
import torch
from torch.nn.functional import affine_grid, grid_sample

from common.files import atomic_write


def make_augment(
    generator: torch.Generator, hflip: bool = True, rotate_degrees: float = 15.0
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Batched random horizontal flip and rotation (the paper's train transforms), on device.

    Random draws come from ``generator`` (CPU), two per image whatever the flags, so the stream
    (and a resumed run) does not depend on which augmentations are on.
    """

    def augment(x: torch.Tensor) -> torch.Tensor:  # [B, 1, H, W], pixel scale; zero fill = black
        b = x.shape[0]
        draws = torch.rand(b, 2, generator=generator).to(x.device)
        if hflip:
            flip = (draws[:, 0] < 0.5).view(b, 1, 1, 1)
            x = torch.where(flip, x.flip(-1), x)
        if rotate_degrees > 0:
            angle = (draws[:, 1] * 2 - 1) * (rotate_degrees * math.pi / 180)
            cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
            theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
            grid = affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
            x = grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        return x

    return augment


def mean_auroc_map(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Mean AUROC and mean AP over the classes where both are defined (NaN when none is).

    A class without positives (or without negatives) in ``y_true`` has no AUROC, and no AP when
    it has no positives; the paper's code crashed on such splits, here they are skipped.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    aucs, aps = [], []
    for c in range(y_true.shape[1]):
        y, s = y_true[:, c], scores[:, c]
        pos = int(y.sum())
        if 0 < pos < len(y):
            aucs.append(roc_auc_score(y, s))
        if pos > 0:
            aps.append(average_precision_score(y, s))
    return (float(np.mean(aucs)) if aucs else math.nan, float(np.mean(aps)) if aps else math.nan)


def save_checkpoint(obj: dict, path: str | os.PathLike) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))


def load_checkpoint(path: str | os.PathLike) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"checkpoint {path} could not be read: {exc}") from exc


def save_learning_curves(history: list[dict], path: str | os.PathLike) -> None:
    """Loss, mean AUROC and mAP per epoch, train vs val, as one PNG (Figure API, no pyplot)."""
    png = learning_curves_png(history)
    atomic_write(path, lambda f: f.write(png))


def learning_curves_png(history: list[dict]) -> bytes:
    """The learning-curves figure as PNG bytes (the web page draws it from history.csv while training runs)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.5))
    axes = fig.subplots(1, 3)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.15, top=0.95, wspace=0.3)  # no layout engine: fast
    for ax, key, label in zip(axes, ("loss", "mauc", "map"), ("BCE loss", "mean AUROC", "mAP"), strict=True):
        for phase in ("train", "val"):
            rows = [r for r in history if r["phase"] == phase]
            ax.plot([r["epoch"] for r in rows], [r[key] for r in rows], marker="o", ms=3, label=phase)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
    if history:  # empty while the first epoch runs: axes only
        axes[0].legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()
