"""DICOM case images: the display PNG (the file's window, 8 bits) plus the full-depth pixels the viewer's
window/level works on, both written from pixels only (common.dicom drops the header), served by token.

The full-depth file is raw little-endian uint16, rows x columns, named after the case token: the browser
windows it itself (a 16-bit PNG would be cut to 8 bits by the browser's decoder before a script sees it).
"""

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404

from common.dicom import DicomError, is_dicom, read_radiograph
from common.png import write_png
from readerstudy.images import MAX_PIXELS, ImageError, StoredImage, image_path, store_case_image, study_image_dir


def _atomic_bytes(target: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store_dicom_image(source: Path, folder: Path, token: str) -> StoredImage:
    """<token>.png (display) and <token>.u16 (full depth) in `folder`; ImageError naming the file on refusal."""
    try:
        radiograph = read_radiograph(source)
    except DicomError as exc:
        raise ImageError(exc.message) from None
    rows, cols = radiograph.pixels.shape
    if rows * cols > MAX_PIXELS:
        raise ImageError(f"{source.name}: {cols}x{rows} pixels is too large.")
    folder.mkdir(parents=True, exist_ok=True)
    display, full = folder / f"{token}.png", folder / f"{token}.u16"
    _atomic_bytes(full, lambda fh: fh.write(radiograph.pixels.astype("<u2").tobytes()))
    _atomic_bytes(display, lambda fh: write_png(radiograph.display8(), fh))  # fresh bytes per study (common.png)
    root = Path(settings.ARTIFACT_ROOT)
    window = {
        "center": round(radiograph.center, 3),
        "width": round(radiograph.width, 3),
        "max": radiograph.max_value,
        "from_file": radiograph.window_from_file,
        # mm per pixel (row, column) and which header element gave it: the viewer's ruler reads mm from it
        **(
            {"spacing": list(radiograph.spacing_mm), "spacing_from": radiograph.spacing_source}
            if radiograph.spacing_mm
            else {}
        ),
    }
    return StoredImage(
        relpath=str(display.relative_to(root)),
        n_bytes=display.stat().st_size,
        width=cols,
        height=rows,
        full_depth=str(full.relative_to(root)),
        window=window,
    )


def full_depth_response(relpath: str) -> FileResponse:
    """The raw uint16 pixels, with headers that say nothing about the case."""
    path = image_path(relpath)
    if not relpath or not path.is_file():
        raise Http404("No such image.")
    response = FileResponse(path.open("rb"), content_type="application/octet-stream")
    if "Content-Disposition" in response:
        del response["Content-Disposition"]
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def store_case_file(source: Path, study_id: int, token: str) -> StoredImage:
    """A case's image from an upload, a PIE selection or a clone: a DICOM file keeps its full-depth pixels
    beside the display PNG; any other image is re-encoded by readerstudy.images."""
    if is_dicom(source):
        return store_dicom_image(source, study_image_dir(study_id), token)
    return store_case_image(source, study_id, token)
