"""Case images: copied once into the artifact root under an opaque name, served only to those allowed.

The copy is a re-encoding of the decoded pixels (never a byte copy), so no EXIF, PNG text chunk, ICC
profile or original file name can survive into what a reader downloads.
"""

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.http import FileResponse, Http404
from PIL import Image, ImageOps, UnidentifiedImageError

from common.dicom import is_dicom
from common.errors import AppError

MAX_PIXELS = 8192 * 8192


class ImageError(AppError):
    """An input image that cannot be read (the message names the file)."""


@dataclass
class StoredImage:
    relpath: str  # relative to ARTIFACT_ROOT
    n_bytes: int
    width: int
    height: int
    # DICOM only (readerstudy.dicom): the full-depth pixels' path and the display window in their units.
    full_depth: str = ""
    window: dict = field(default_factory=dict)


def study_image_dir(study_id: int) -> Path:
    return Path(settings.ARTIFACT_ROOT) / "readerstudy" / str(study_id)


def _pixels_only(image: Image.Image) -> Image.Image:
    """A fresh image holding only the pixels: grayscale stays 8-bit grayscale, colour becomes RGB."""
    image = ImageOps.exif_transpose(image)  # honour the orientation before the EXIF goes
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # Deeper than 8 bits: stretch min..max to 0..255 (readers adjust window/level in the viewer).
        arr = np.asarray(image, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = np.zeros_like(arr) if hi <= lo else (arr - lo) * (255.0 / (hi - lo))
        image = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), mode="L")
    elif image.mode in ("L", "LA", "1"):
        image = image.convert("L")
    else:
        image = image.convert("RGB")
        arr = np.asarray(image)
        if np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2]):
            image = Image.fromarray(arr[..., 0].copy(), mode="L")
    return Image.frombytes(image.mode, image.size, image.tobytes())


def store_case_image(source: Path, study_id: int, token: str) -> StoredImage:
    """Decode `source` and write it as ARTIFACT_ROOT/readerstudy/<study>/<token>.png (atomically); a DICOM file
    also keeps its full-depth pixels (readerstudy.dicom)."""
    if is_dicom(source):
        from readerstudy.dicom import store_dicom_image

        return store_dicom_image(source, study_image_dir(study_id), token)
    try:
        with Image.open(source) as im:
            if im.width * im.height > MAX_PIXELS:
                raise ImageError(f"{source.name}: {im.width}x{im.height} pixels is too large.")
            clean = _pixels_only(im)
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"{source.name}: not a readable image ({exc}).") from None
    folder = study_image_dir(study_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{token}.png"
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            clean.save(fh, format="PNG")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return StoredImage(
        relpath=str(target.relative_to(settings.ARTIFACT_ROOT)),
        n_bytes=target.stat().st_size,
        width=clean.width,
        height=clean.height,
    )


def remove_study_images(study_id: int) -> None:
    shutil.rmtree(study_image_dir(study_id), ignore_errors=True)


def image_path(relpath: str) -> Path:
    root = Path(settings.ARTIFACT_ROOT).resolve()
    path = (root / relpath).resolve()
    if root not in path.parents:  # a stored path must never point outside the artifact root
        raise Http404("No such image.")
    return path


def image_response(relpath: str) -> FileResponse:
    """The image bytes with headers that say nothing about the case (no file name, no modification time)."""
    path = image_path(relpath)
    if not path.is_file():
        raise Http404("No such image.")
    response = FileResponse(path.open("rb"), content_type="image/png")
    # Private: the browser may keep it (prefetch of the next case) but shared caches must not.
    if "Content-Disposition" in response:
        del response["Content-Disposition"]  # would carry the on-disk name
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
