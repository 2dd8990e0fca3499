"""Decode a list of images once into a cached uint8 array [N, size, size].

The paper re-decodes every JPEG at every epoch and at every pruning sparsity; here a split is
decoded once per image size and kept as a ``.npy`` file whose name is a hash of the image paths,
their modification times and sizes, and the output size. Any change to an image (or a different
size) gives a new key, so a stale cache is never read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from common.dicom import DicomError, is_dicom, read_radiograph
from common.progress import Progress, report
from pruning.engine.errors import DatasetError

_CACHE_VERSION = "v1"  # bump when decoding changes (filter, grayscale rule) to orphan old caches


def cache_key(paths: Sequence[Path | str], size: int) -> str:
    """Hash of (absolute path, mtime_ns, file size) for every image, in order, plus ``size``."""
    h = hashlib.sha256(f"{_CACHE_VERSION}|{int(size)}|{len(paths)}".encode())
    for p in paths:
        try:
            st = os.stat(p)
        except OSError as exc:
            raise DatasetError(f"{p}: cannot read image ({exc.strerror})") from exc
        h.update(f"|{os.path.abspath(p)}|{st.st_mtime_ns}|{st.st_size}".encode())
    return h.hexdigest()[:32]


def _to_gray(im: Image.Image) -> Image.Image:
    if im.mode == "L":
        return im
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # High bit-depth radiographs use an unknown part of the range (often 12 bits): stretch
        # the image's own min..max to 0..255 rather than assume 16 bits and get a black image.
        a = np.asarray(im, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
        return Image.fromarray(np.round(a).astype(np.uint8), mode="L")
    return im.convert("L")


def decode_one(path: Path | str, size: int) -> np.ndarray:
    """One image as uint8 [size, size] grayscale.

    Non-square images are squashed to a square, as the reference code's ``cv2.resize`` does.
    PIL's bilinear resize widens its kernel when shrinking, so downsampling is antialiased.
    """
    if is_dicom(Path(path)):
        # DICOM: modality/VOI LUT, MONOCHROME1 inverted, the file's window (common.dicom), then the same resize.
        try:
            gray = Image.fromarray(read_radiograph(Path(path)).display8(), mode="L")
        except DicomError as exc:
            raise DatasetError(f"{path}: {exc.message}") from None
        return np.asarray(gray.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None), dtype=np.uint8)
    try:
        with Image.open(path) as im:
            if im.format == "JPEG":
                im.draft("L", (size, size))  # DCT-domain shrink: big JPEGs decode many times faster
            gray = _to_gray(im)
            gray = gray.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
            return np.asarray(gray, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as exc:
        raise DatasetError(f"{path}: cannot decode image ({type(exc).__name__}: {exc})") from exc


def _decode_all(paths: Sequence[Path | str], size: int, out: np.ndarray, progress: Progress | None) -> None:
    n = len(paths)
    step = max(1, n // 100)
    # Threads, not processes: PIL releases the GIL while decoding and resizing, results land in
    # ``out`` without pickling, and a monkeypatched decode_one (tests) is seen by the workers.
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        for i, arr in enumerate(pool.map(lambda p: decode_one(p, size), paths)):
            out[i] = arr
            if (i + 1) % step == 0 or i + 1 == n:
                report(progress, i + 1, n, "decoding images")


def decode_images(
    paths: Sequence[Path | str],
    size: int,
    cache_dir: Path | str | None = None,
    progress: Progress | None = None,
    mmap: bool = True,
) -> np.ndarray:
    """All images as uint8 [N, size, size], decoded once and cached under ``cache_dir``.

    The cache file is ``cache_dir/images_{size}px_{key}.npy`` (see :func:`cache_key`), written to
    a temporary file in the same folder and renamed, so a crash or a cancel never leaves a
    half-written cache behind. A cached array is returned memory-mapped read-only when ``mmap``
    (index it to get writable copies), else fully loaded.
    """
    size = int(size)
    if size < 1:
        raise DatasetError(f"image size must be a positive number of pixels, got {size}")
    if cache_dir is None:
        out = np.empty((len(paths), size, size), dtype=np.uint8)
        _decode_all(paths, size, out, progress)
        return out
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    final = cache_dir / f"images_{size}px_{cache_key(paths, size)}.npy"
    if not final.is_file():
        tmp = final.with_name(f"{final.name}.{os.getpid()}.tmp")
        try:
            # Written straight into a .npy memmap so paper-scale splits never sit in RAM twice.
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(paths), size, size))
            _decode_all(paths, size, out, progress)
            out.flush()
            del out
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
    else:
        report(progress, len(paths), len(paths), "images loaded from cache")
    return np.load(final, mmap_mode="r" if mmap else None)
