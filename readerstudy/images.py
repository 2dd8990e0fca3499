"""Case images: copied once into the artifact root under an opaque name, served only to those allowed.

The copy is a re-encoding of the decoded pixels (never a byte copy), so no EXIF, PNG text chunk, ICC
profile or original file name can survive into what a reader downloads; and each copy is encoded with its
own random PNG row filters (common.png), so equal bytes never cross studies, clones or hidden repeats while
the pixels stay exactly the same. Decoding is bounded by pixels x bytes per pixel, converted in strips.
"""

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np
from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from PIL import Image, ImageOps, UnidentifiedImageError

from common.errors import AppError
from common.png import write_png

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


# Bytes per pixel of each decoded mode: a decode is bounded by width x height x this, not by pixels alone
# (a 130 KB PNG can declare 8192 x 8192 x 16 bits).
MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "I;16": 2, "I;16B": 2, "I;16L": 2, "RGB": 3, "YCbCr": 3}
MAX_DECODED_BYTES = 8192 * 8192 * 2  # the largest allowed image: 8192 x 8192 at 16 bits (or ~6700^2 RGB)
STRIP = 512  # rows converted at a time: no whole-image float or channel copies


def _check_size(image: Image.Image, name: str) -> None:
    if image.width * image.height > MAX_PIXELS:
        raise ImageError(f"{name}: {image.width}x{image.height} pixels is too large.")
    decoded = image.width * image.height * MODE_BYTES.get(image.mode, 4)
    if decoded > MAX_DECODED_BYTES:
        raise ImageError(
            f"{name}: {image.width}x{image.height} {image.mode} decodes to {decoded / 2**20:.0f} MB, more than "
            f"the {MAX_DECODED_BYTES / 2**20:.0f} MB allowed; store it smaller or as grayscale."
        )


def _strips(image: Image.Image):
    for top in range(0, image.height, STRIP):
        bottom = min(image.height, top + STRIP)
        yield top, bottom, np.asarray(image.crop((0, top, image.width, bottom)))


def _deep_to_8bit(image: Image.Image) -> np.ndarray:
    """Deeper than 8 bits: stretch min..max to 0..255 (readers adjust window/level in the viewer), one strip at
    a time in float32, so a 16-bit 8192^2 image needs its decode plus the 64 MB result, not 2 GB."""
    lo, hi = image.getextrema()
    out = np.zeros((image.height, image.width), dtype=np.uint8)
    if hi > lo:
        scale = np.float32(255.0 / (float(hi) - float(lo)))
        for top, bottom, strip in _strips(image):
            values = (strip.astype(np.float32) - np.float32(lo)) * scale
            out[top:bottom] = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return out


def _colour_or_gray(image: Image.Image) -> np.ndarray:
    """RGB pixels, or one channel when all three are equal everywhere (a gray image saved as colour)."""
    rgb = image.convert("RGB")
    gray = all(
        np.array_equal(s[..., 0], s[..., 1]) and np.array_equal(s[..., 1], s[..., 2]) for _, _, s in _strips(rgb)
    )
    if not gray:
        return np.asarray(rgb)
    out = np.empty((rgb.height, rgb.width), dtype=np.uint8)
    for top, bottom, strip in _strips(rgb):
        out[top:bottom] = strip[..., 0]
    return out


def _pixels_only(image: Image.Image) -> np.ndarray:
    """Only the pixels, as uint8: grayscale stays 8-bit grayscale, colour becomes RGB; EXIF orientation applied
    to the 8-bit result (cheaper than to a deep decode), and nothing else of the file kept."""
    orientation = image.getexif().get(0x0112, 1)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        pixels = _deep_to_8bit(image)
    elif image.mode in ("L", "LA", "1"):
        pixels = np.asarray(image.convert("L"))
    else:
        pixels = _colour_or_gray(image)
    if orientation != 1:
        oriented = ImageOps.exif_transpose(_with_orientation(Image.fromarray(pixels), orientation))
        pixels = np.asarray(oriented)
    return pixels


def _with_orientation(image: Image.Image, orientation: int) -> Image.Image:
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.info["exif"] = exif.tobytes()
    return image


def store_case_image(source: Path, study_id: int, token: str) -> StoredImage:
    """Decode a raster image `source` and write it as ARTIFACT_ROOT/readerstudy/<study>/<token>.png (atomically);
    DICOM files go through readerstudy.dicom.store_case_file.

    Every call encodes afresh with random PNG row filters (common.png): lossless, so the pixels are exactly
    the source's, but no two files share their bytes (not across studies, clones or hidden repeats)."""
    try:
        with Image.open(source) as im:
            _check_size(im, source.name)
            pixels = _pixels_only(im)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{source.name}: not a readable image ({exc}).") from None
    folder = study_image_dir(study_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{token}.png"
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write_png(pixels, fh)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return StoredImage(
        relpath=str(target.relative_to(settings.ARTIFACT_ROOT)),
        n_bytes=target.stat().st_size,
        width=pixels.shape[1],
        height=pixels.shape[0],
    )


def remove_study_images(study_id: int) -> None:
    shutil.rmtree(study_image_dir(study_id), ignore_errors=True)


def image_path(relpath: str) -> Path:
    root = Path(settings.ARTIFACT_ROOT).resolve()
    path = (root / relpath).resolve()
    if root not in path.parents:  # a stored path must never point outside the artifact root
        raise Http404("No such image.")
    return path


def image_response(relpath: str) -> HttpResponse:
    """The image bytes with headers that say nothing about the case (no file name, no modification time).

    Called after the permission check. With READER_IMAGES_X_ACCEL set, the body is left to nginx (an
    X-Accel-Redirect to the file's internal path); otherwise a FileResponse, which gunicorn sends with
    sendfile (wsgi.file_wrapper) instead of reading it through Python."""
    path = image_path(relpath)
    if not path.is_file():
        raise Http404("No such image.")
    prefix = settings.READER_IMAGES_X_ACCEL
    if prefix:
        response = HttpResponse(content_type="image/png")
        inside = path.relative_to(Path(settings.ARTIFACT_ROOT).resolve()).as_posix()
        response["X-Accel-Redirect"] = prefix + quote(inside)
    else:
        response = FileResponse(path.open("rb"), content_type="image/png")
    # Private: the browser may keep it (prefetch of the next case) but shared caches must not.
    if "Content-Disposition" in response:
        del response["Content-Disposition"]  # would carry the on-disk name
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
