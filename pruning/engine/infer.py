"""Inference on uint8 grayscale images, and resumable pruning sweeps into a prediction store.

Images arrive decoded once (uint8 [N, H, W]). They become one uint8 tensor per sweep (on the GPU
when there is one) and are normalised batch by batch on the device, so no pass over the test set
ever decodes or converts images again (the paper re-read every JPEG at every sparsity).
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.functional import interpolate

from common.progress import Progress, report

from . import compress
from .compress.costs import CostConfig, measure
from .nets import prunable_modules
from .store import PredictionSet, read_sidecar, write_sidecar

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/``"auto"`` -> CUDA when available, else CPU."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def check_images(images: np.ndarray, name: str = "images") -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"{name} must be uint8 [N, H, W], got {images.dtype} {images.shape}")
    return images


def to_model_input(u8: torch.Tensor, image_size: int | None = None, augment=None) -> torch.Tensor:
    """uint8 [B, H, W] -> float32 [B, 3, S, S], ImageNet-normalised (grayscale copied to RGB).

    Resizes (bilinear, antialiased when shrinking) only when ``image_size`` differs from H, W.
    ``augment`` maps the [B, 1, S, S] batch (pixel scale 0..255) before normalisation; it must be
    linear with zero fill (flips, bilinear rotations), so rotations fill with black as
    torchvision's transforms on the raw image do.
    """
    x = u8.to(torch.float32).unsqueeze(1)
    if image_size is not None and tuple(x.shape[-2:]) != (image_size, image_size):
        shrink = x.shape[-1] > image_size or x.shape[-2] > image_size
        x = interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=shrink)
    if augment is not None:
        x = augment(x)
    # (x / 255 - mean) / std as ONE broadcasting op that also makes the 3 channels.
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    return torch.addcmul(-mean / std, x, 1.0 / (255.0 * std))


class DeviceImages:
    """A uint8 image array converted ONCE to a tensor that batches are cut from.

    On CUDA the whole array goes to GPU memory when it takes under a quarter of what is free
    (NIH-CXR-LT's test set at 256 px is ~1.3 GB); otherwise it stays in pinned host memory and
    each batch is copied asynchronously. For repeated inference (a sweep), ``cache_inputs``
    also keeps the normalised float model input when it fits, so later passes only run the model.
    """

    def __init__(self, images: np.ndarray, device: torch.device) -> None:
        images = check_images(images)
        self.device = device
        self.n = len(images)
        with warnings.catch_warnings():
            # The decode cache is a read-only memory map; batches are only read, so sharing it is safe
            # and saves a copy of the whole test set.
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            host = torch.from_numpy(np.ascontiguousarray(images))
        self.on_device = False
        if device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(device)
            if host.numel() < free // 4:
                host = host.to(device)
                self.on_device = True
            else:
                host = host.pin_memory()
        self.data = host
        self._inputs: torch.Tensor | None = None
        self._inputs_size: int | None = None

    def __len__(self) -> int:
        return self.n

    def batch(self, index: slice | torch.Tensor) -> torch.Tensor:
        """uint8 [B, H, W] on the device for a slice or an index tensor."""
        if isinstance(index, torch.Tensor):
            index = index.to(self.data.device)
        x = self.data[index]
        return x if self.on_device else x.to(self.device, non_blocking=True)

    def cache_inputs(self, image_size: int | None, max_bytes: int | None = None) -> bool:
        """Precompute the float model input for all images if it takes at most ``max_bytes``
        (default: 1 GiB on CPU, a quarter of free GPU memory on CUDA). Returns whether it did."""
        h, w = self.data.shape[1:] if image_size is None else (image_size, image_size)
        need = self.n * 3 * h * w * 4
        if max_bytes is None:
            max_bytes = torch.cuda.mem_get_info(self.device)[0] // 4 if self.device.type == "cuda" else 2**30
        if need > max_bytes:
            return False
        fmt = torch.channels_last if self.device.type == "cuda" else torch.contiguous_format
        self._inputs = torch.empty((self.n, 3, h, w), device=self.device).contiguous(memory_format=fmt)
        for start in range(0, self.n, 256):
            self._inputs[start : start + 256] = to_model_input(self.batch(slice(start, start + 256)), image_size)
        self._inputs_size = image_size
        return True

    def model_input(self, start: int, stop: int, image_size: int | None) -> torch.Tensor:
        """Normalised float [B, 3, S, S] for images start..stop (from the cache when it has it)."""
        if self._inputs is not None and self._inputs_size == image_size:
            return self._inputs[start:stop]
        x = to_model_input(self.batch(slice(start, stop)), image_size)
        return x.contiguous(memory_format=torch.channels_last) if self.device.type == "cuda" else x


def autocast(device: torch.device, amp: bool | str = "auto"):
    """bf16 autocast on CUDA (no GradScaler needed), a no-op context on CPU."""
    enabled = device.type == "cuda" if amp == "auto" else bool(amp)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def prepare_model(model: nn.Module, device: torch.device) -> nn.Module:
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    return model


@torch.inference_mode()
def predict_logits(
    model: nn.Module,
    images: np.ndarray | DeviceImages,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    image_size: int | None = None,
    amp: bool | str = "auto",
) -> torch.Tensor:
    """Logits float32 [N, C] (on the device) in eval mode. Moves ``model`` to the device."""
    dev = images.device if isinstance(images, DeviceImages) else resolve_device(device)
    data = images if isinstance(images, DeviceImages) else DeviceImages(images, dev)
    prepare_model(model, dev).eval()
    out = []
    for start in range(0, len(data), batch_size):
        x = data.model_input(start, start + batch_size, image_size)
        with autocast(dev, amp):
            out.append(model(x).float())
    if not out:
        return torch.zeros((0, _num_outputs(model)), device=dev)
    return torch.cat(out)


def predict(
    model: nn.Module,
    images: np.ndarray | DeviceImages,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    image_size: int | None = None,
    amp: bool | str = "auto",
) -> np.ndarray:
    """Sigmoid outputs float32 [N, C] in eval mode. Moves ``model`` to ``device``."""
    logits = predict_logits(model, images, batch_size, device, image_size, amp)
    return torch.sigmoid(logits).cpu().numpy()


def _num_outputs(model: nn.Module) -> int:
    last = prunable_modules(model)[-1][1]
    return int(last.out_features if isinstance(last, nn.Linear) else last.out_channels)


def scratch_dir(out_path) -> Path:
    """The folder where a sequential method (IMP) keeps each level's state for a resumed sweep."""
    return Path(f"{out_path}.levels")


def _open_store(out_path, sparsities, image_ids, class_names, method, seed, params=None) -> PredictionSet:
    """Load the store to resume, after checking it belongs to this very sweep; or start one."""
    if not os.path.exists(out_path):
        return PredictionSet.empty(sparsities, image_ids, class_names)
    ps = PredictionSet.load(out_path)
    if ps.sparsities.tolist() != list(sparsities):
        raise ValueError(
            f"{out_path}: store has sparsities {ps.sparsities.tolist()}, sweep asks for "
            f"{list(sparsities)}; use another output path"
        )
    if ps.image_ids != image_ids:
        raise ValueError(f"{out_path}: store holds other image ids than this sweep's test set")
    if ps.class_names != class_names:
        raise ValueError(f"{out_path}: store classes {ps.class_names} != {class_names}")
    side = read_sidecar(out_path)
    for key, want in (("method", method), ("seed", seed), ("params", params)):
        if key in side and want is not None and side[key] != want:
            raise ValueError(f"{out_path}: store was made with {key}={side[key]!r}, not {want!r}")
    return ps


def _names(model: nn.Module, images: np.ndarray, image_ids, class_names) -> tuple[list[str], list[str]]:
    """The store's image ids and class names (indices when not given), checked against images and model."""
    ids = [str(i) for i in image_ids] if image_ids is not None else [str(i) for i in range(len(images))]
    if len(ids) != len(images):
        raise ValueError(f"{len(ids)} image ids for {len(images)} images")
    n_out = _num_outputs(model)
    classes = list(class_names) if class_names is not None else [str(c) for c in range(n_out)]
    if len(classes) != n_out:
        raise ValueError(f"{len(classes)} class names for a model with {n_out} outputs")
    return ids, classes


def _method_inputs(spec: compress.MethodSpec, calibration, training, params) -> dict | None:
    """Fail before any file is written when the method lacks what it needs; its parameters, checked."""
    if spec.needs_calibration and (calibration is None or len(calibration) == 0):
        raise compress.MethodError(f"{spec.name} needs calibration images (training images); none given")
    if spec.needs_training and training is None:
        raise compress.MethodError(f"{spec.name} fine-tunes on the training set; none given")
    return spec.validate_params(params) if spec.params else None


def _start_sidecar(out_path, ps: PredictionSet, spec: compress.MethodSpec, seed: int, params, comp) -> dict:
    # A sidecar without its store is stale (the store was deleted): start it afresh too.
    side = (read_sidecar(out_path) if ps.done.any() else {}) or {"method": spec.name, "seed": seed}
    if params is not None:
        side["params"] = params
    side.update(level_unit=spec.unit, heavy_level=spec.heavy_level)
    if hasattr(comp, "n_weights"):
        side["n_weights"] = comp.n_weights
    side.setdefault("achieved", {})
    return side


def sweep(
    model: nn.Module,
    images: np.ndarray,
    sparsities,
    method: str = "l1",
    out_path: str | os.PathLike = "predictions.npz",
    seed: int = 0,
    progress: Progress | None = None,
    image_ids: list[str] | None = None,
    class_names: list[str] | None = None,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    image_size: int | None = None,
    amp: bool | str = "auto",
    calibration: np.ndarray | None = None,
    costs: CostConfig | None = None,
    training=None,
    params: dict | None = None,
) -> PredictionSet:
    """Predict ``images`` at every level of compression ``method`` (``compress.REGISTRY``; for the
    paper's ``l1`` the levels are sparsities), saving the store after each one.

    Resumable: levels already marked done in the store at ``out_path`` are skipped, so an
    interrupted sweep (crash, or ``Cancelled`` raised by ``progress``) restarts where it stopped,
    and a finished store is returned without any inference. ``model`` holds its dense weights
    again when this returns or raises. ``seed`` only matters for ``method="random"``;
    ``calibration`` (uint8 training images) only for methods that calibrate (static int8).
    ``costs``: also measure each level's cost (``compress.costs``) into the sidecar. ``training``
    (``train.TrainingSet``) only for methods that fine-tune; ``params``: the method's parameters
    (``MethodSpec.params``; defaults filled in, recorded in the sidecar, must match on resume).
    """
    spec = compress.get(method)
    images = check_images(images)
    sparsities = spec.validate_levels(sparsities)
    ids, classes = _names(model, images, image_ids, class_names)
    params = _method_inputs(spec, calibration, training, params)

    ps = _open_store(out_path, sparsities, ids, classes, method, seed, params)
    total = len(sparsities)
    report(progress, int(ps.done.sum()), total, "sweep: resuming" if ps.done.any() else "sweep")
    if ps.complete:
        return ps

    dev = torch.device("cpu") if spec.cpu_only else resolve_device(device)
    prepare_model(model, dev)
    data = DeviceImages(images, dev)  # converted once for the whole sweep
    data.cache_inputs(image_size)  # and normalised once, when that fits in memory
    example = data.model_input(0, 1, image_size)
    calib = None if calibration is None else to_model_input(torch.from_numpy(check_images(calibration)), image_size)
    scratch = scratch_dir(out_path)
    if not ps.done.any():  # a fresh sweep: no earlier run's level states to resume from
        shutil.rmtree(scratch, ignore_errors=True)
    # Built once for the whole sweep (a sort, a dependency graph, a calibration).
    comp = spec.load()(
        model, seed=seed, calibration=calib, example=example, params=params, training=training, scratch=scratch
    )
    side = _start_sidecar(out_path, ps, spec, seed, params, comp)
    try:
        for i, r in enumerate(sparsities):
            if ps.done[i]:
                continue
            net = comp.apply(model, r)
            ps.probs[i] = predict(net, data, batch_size, image_size=image_size, amp=amp)
            ps.done[i] = True
            # Sidecar first: a crash between the two writes leaves an entry for a level
            # that is redone (and overwritten) on resume, never a done one without its entry.
            side["achieved"][repr(r)] = comp.achieved(net)
            if costs is not None:
                side.setdefault("costs", {})[repr(r)] = measure(net, comp.storage(net), example, costs)
            write_sidecar(out_path, side)
            ps.save(out_path)
            report(progress, int(ps.done.sum()), total, f"sweep: {method} level {r:g} done")
    finally:
        comp.restore(model)
    shutil.rmtree(scratch, ignore_errors=True)  # complete: nothing left to resume
    return ps
