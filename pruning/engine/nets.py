"""Model architectures: torchvision ResNets with a multi-label head, a small CNN for CPU demos, and a
tiny net for tests.

Every model maps a float tensor [B, 3, H, W] (ImageNet-normalised) to logits [B, num_classes].
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

ARCHS = ("resnet50", "resnet18", "small", "tiny")
INITS = ("imagenet", "random")  # or a path to a weights file


class TinyNet(nn.Module):
    """Two conv+BN+ReLU blocks, global pooling and a Linear head.

    Small enough for unit tests, yet it has every layer type pruning must treat differently
    (Conv2d and Linear weights are pruned; biases and BatchNorm are not).
    """

    def __init__(self, num_classes: int, width: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=True),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


class SmallNet(nn.Module):
    """Four stages (widths 16..128) of a stride-2 conv and a residual conv, each conv+BN, global pooling and a
    Linear head: a pocket ResNet for CPU demos, about 20x cheaper than ResNet18 at 128 px.

    Every convolution has a parameter-free path around it, as the paper's ResNet50 has skip connections:
    the stage entry adds the input average-pooled by 2 and zero-padded to the new width, the second conv is
    a residual branch. Without those paths a plain conv stack collapses under 90% global magnitude pruning
    (its widest layer loses 97% of its weights; measured on the demo: the outputs of the 90%-sparse model
    varied 25x less between images than the dense model's, so every image got the same class ranking and
    the PIE correlation only measured how far an image's dense ranking was from that constant one).
    """

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (16, 32, 64, 128)) -> None:
        super().__init__()
        self.widths = tuple(widths)
        self.down = nn.ModuleList()
        self.res = nn.ModuleList()
        c_in = 3
        for width in widths:
            if width < c_in:
                raise ValueError(f"stage widths must not shrink: {widths}")
            self.down.append(
                nn.Sequential(nn.Conv2d(c_in, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width))
            )
            self.res.append(nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width)))
            c_in = width
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for down, res, width in zip(self.down, self.res, self.widths, strict=True):
            skip = nn.functional.avg_pool2d(x, 2, ceil_mode=True)
            skip = nn.functional.pad(skip, (0, 0, 0, 0, 0, width - skip.shape[1]))
            x = torch.relu(down(x) + skip)
            x = torch.relu(x + res(x))
        return self.fc(x.mean((2, 3)))


def _imagenet_weights(arch: str):
    """The torchvision weights enum the paper used (``pretrained=True`` = IMAGENET1K_V1)."""
    from torchvision.models import ResNet18_Weights, ResNet50_Weights

    return {"resnet50": ResNet50_Weights.IMAGENET1K_V1, "resnet18": ResNet18_Weights.IMAGENET1K_V1}[arch]


def imagenet_cache_path(arch: str) -> Path:
    """Where torch hub keeps the ImageNet weights file for ``arch`` (it may not exist)."""
    url = _imagenet_weights(arch).url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def _load_imagenet_state(arch: str, allow_download: bool) -> dict[str, torch.Tensor]:
    path = imagenet_cache_path(arch)
    if not path.is_file() and not allow_download:
        # Fail fast: without internet torchvision would hang on the download, then fail.
        raise ValueError(
            f"init='imagenet' needs the torchvision {arch} ImageNet weights, which are not cached "
            f"at {path} and downloading is disabled (no internet on this machine). Fill the cache with "
            f"`python manage.py fetch_weights --arch {arch}` (downloads) or `... --from FILE` (a copy of "
            f"{os.path.basename(path)}, URL: {_imagenet_weights(arch).url}), set ALLOW_WEIGHTS_DOWNLOAD=1 "
            f"on a worker with internet, pass init=<path to a weights file>, or use init='random'."
        )
    return _imagenet_weights(arch).get_state_dict(progress=False, check_hash=False)


def imagenet_expected_sha256_prefix(arch: str) -> str:
    """The hash prefix torchvision puts in the file name (``resnet50-0676ba61.pth`` -> ``0676ba61``)."""
    return Path(_imagenet_weights(arch).url).stem.rsplit("-", 1)[-1]


def install_imagenet_weights(arch: str, source: str | os.PathLike | None = None, *, check_hash: bool = True) -> Path:
    """Put the torchvision ImageNet weights for ``arch`` into the torch hub cache; returns the path.

    ``source``: a local copy of the file (checked: its SHA-256 must start with the prefix in
    torchvision's file name unless ``check_hash=False``, and it must load into the architecture);
    None downloads it (needs internet; the error says what to do offline).
    """
    if arch not in ("resnet50", "resnet18"):
        raise ValueError(f"arch {arch!r} has no torchvision ImageNet weights; valid: resnet50, resnet18")
    import hashlib
    import shutil
    import socket
    import tempfile

    target = imagenet_cache_path(arch)
    target.parent.mkdir(parents=True, exist_ok=True)
    url = _imagenet_weights(arch).url
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if source is None:
            old = socket.getdefaulttimeout()
            socket.setdefaulttimeout(30)  # offline, fail in seconds instead of hanging
            try:
                torch.hub.download_url_to_file(url, tmp, progress=False)
            except OSError as exc:  # URLError, timeouts and DNS failures are OSErrors
                raise ValueError(
                    f"could not download {url} ({exc}). Without internet, copy the file from a machine that "
                    f"has it and pass it with --from FILE (it goes to {target})."
                ) from exc
            finally:
                socket.setdefaulttimeout(old)
        else:
            src = Path(source)
            if not src.is_file():
                raise ValueError(f"{src}: no such file")
            shutil.copyfile(src, tmp)
        want = imagenet_expected_sha256_prefix(arch)
        h = hashlib.sha256()
        with open(tmp, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        if check_hash and not h.hexdigest().startswith(want):
            raise ValueError(
                f"{source or url}: SHA-256 {h.hexdigest()[:12]}... does not start with {want} (the hash in "
                f"torchvision's file name {target.name}); not the {arch} IMAGENET1K_V1 weights? "
                "(--skip-hash-check installs it anyway)"
            )
        import torchvision

        probe = getattr(torchvision.models, arch)(weights=None)  # 1000-class head: the file must fit exactly
        _load_into(probe, _read_weights_file(Path(tmp)), str(source or url))
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _read_weights_file(path: Path) -> dict[str, torch.Tensor]:
    """Accept a bare state_dict, our checkpoint (``model`` key) or the paper's (``weights``)."""
    if not path.is_file():
        raise ValueError(f"init weights file {path} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, wrong format: say which file
        raise ValueError(f"init weights file {path} could not be read: {exc}") from exc
    if isinstance(obj, dict):
        for key in ("model", "weights", "state_dict"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"init weights file {path} holds no state_dict")
    # Weights saved from DataParallel / torch.compile carry a prefix on every key.
    for prefix in ("module.", "_orig_mod."):
        if obj and all(k.startswith(prefix) for k in obj):
            obj = {k[len(prefix) :]: v for k, v in obj.items()}
    return obj


def _load_into(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state``; a classifier head of another shape (e.g. 1000 ImageNet classes) is skipped
    and keeps its fresh initialisation, every other mismatch is an error naming the keys."""
    own = model.state_dict()
    head = {k for k in own if k.startswith("fc.")}
    skipped = {k for k in head if k in state and state[k].shape != own[k].shape}
    state = {k: v for k, v in state.items() if k not in skipped}
    missing = sorted(set(own) - set(state) - skipped)
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in state if k in own and state[k].shape != own[k].shape)
    if missing or unexpected or wrong:
        raise ValueError(
            f"weights from {source} do not fit this model: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}, wrong shape {wrong[:5]}"
        )
    model.load_state_dict(state, strict=False)


def build_model(
    arch: str = "resnet50",
    num_classes: int = 20,
    init: str | os.PathLike = "imagenet",
    *,
    allow_download: bool = False,
) -> nn.Module:
    """Build ``arch`` with a ``num_classes``-way Linear head (logits, multi-label).

    ``init``: ``"imagenet"`` (torchvision IMAGENET1K_V1 weights, as the paper's ``pretrained=True``;
    the head is new), ``"random"`` (torch's default init; seed with ``torch.manual_seed`` first), or a
    path to a weights file (a state_dict, our ``best.pt``/``last.pt``, or the paper's ``chkpt.pt``).
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; valid: {', '.join(ARCHS)}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    init_s = str(init)
    if arch in ("tiny", "small"):
        if init_s == "imagenet":
            raise ValueError(f"arch {arch!r} has no ImageNet weights; use init='random' or a file")
        model: nn.Module = TinyNet(num_classes) if arch == "tiny" else SmallNet(num_classes)
    else:
        import torchvision

        model = getattr(torchvision.models, arch)(weights=None)
        if init_s == "imagenet":
            _load_into(model, _load_imagenet_state(arch, allow_download), "torchvision ImageNet")
        model.fc = nn.Linear(model.fc.in_features, num_classes)
    if init_s not in INITS:
        path = Path(init_s)
        _load_into(model, _read_weights_file(path), str(path))
    return model


def prunable_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every Conv2d and Linear module, in ``named_modules`` order (the paper's pruning set)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
