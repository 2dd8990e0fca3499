"""DICOM radiographs to pixels (pure: pydicom + numpy, no Django): the one reader of .dcm files that the
reader study's upload and the pruning datasets use.

`read_radiograph(path)` returns the full-depth pixels, the display window and the pixel spacing (for the
viewer's ruler) and drops every other header element: nothing but pixels and those numbers leaves this
module, so no name, id, date or burned-in
text field of the header can reach a page. The steps, in the order the DICOM standard applies them:

1. refuse what we cannot show faithfully, naming the file: no pixel data, more than one frame, colour, or a
   compressed transfer syntax without an installed decoder;
2. the Modality LUT (Rescale Slope/Intercept, or a Modality LUT Sequence) -> modality values;
3. a VOI LUT Sequence, when present, is applied (its output is the presentation range); a linear VOI
   window (Window Center/Width) is kept as the default display window instead, so window/level stays free;
4. MONOCHROME1 (high = dark) is inverted, so that in what we store high values are always bright;
5. the values are shifted (and, beyond 16 bits or for fractional values, scaled) to uint16 0..max, and the
   window is carried into those units.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.errors import AppError

DICOM_SUFFIXES = (".dcm", ".dicom")


class DicomError(AppError):
    """A DICOM file that cannot be imported (the message names the file and says why)."""


@dataclass
class Radiograph:
    pixels: np.ndarray  # uint16, rows x columns, 0..max_value, high = bright
    max_value: int
    center: float  # display window in pixel units (from the file, else the full range)
    width: float
    window_from_file: bool
    # mm per pixel (row, column) for the viewer's ruler: PixelSpacing (calibrated to the patient) or else
    # ImagerPixelSpacing (at the detector, so lengths include the X-ray magnification); None when neither is set.
    spacing_mm: tuple[float, float] | None = None
    spacing_source: str = ""

    def display8(self) -> np.ndarray:
        """The default display rendering: the window applied linearly to 0..255 (DICOM PS3.3 C.11.2.1.2)."""
        lo = self.center - self.width / 2
        out = (self.pixels.astype(np.float64) - lo) / max(self.width, 1.0) * 255.0
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def is_dicom(path: Path) -> bool:
    """A DICOM Part 10 file (the 'DICM' preamble) or a file named .dcm."""
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _first(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value[0] if hasattr(value, "__len__") and not isinstance(value, str) else value)
    except (TypeError, ValueError, IndexError):
        return None


def _decoded(ds, name: str) -> np.ndarray:
    from pydicom.pixels import get_decoder

    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise DicomError(f"{name}: has no pixel data (not an image); nothing was imported.")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise DicomError(f"{name}: is a multi-frame object ({frames} frames); import one radiograph per file.")
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise DicomError(f"{name}: {photometric or 'no'} photometric interpretation; only grayscale radiographs.")
    syntax = ds.file_meta.get("TransferSyntaxUID") if "file_meta" in dir(ds) else None
    if syntax is not None and syntax.is_compressed and not get_decoder(syntax).is_available:
        raise DicomError(
            f"{name}: compressed as {syntax.name} and no decoder for it is installed; send it uncompressed."
        )
    try:
        return ds.pixel_array
    except Exception as exc:  # pydicom raises several types for bad or undecodable pixel data
        raise DicomError(f"{name}: the pixel data cannot be decoded ({type(exc).__name__}: {exc}).") from None


def _spacing(ds) -> tuple[tuple[float, float] | None, str]:
    for tag in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(tag)
        try:
            row, col = (float(v) for v in value)
        except (TypeError, ValueError):
            continue
        if 0 < row < 100 and 0 < col < 100:  # a plausible mm per pixel; anything else is a broken header
            return (row, col), tag
    return None, ""


def read_radiograph(path: Path, name: str | None = None) -> Radiograph:
    """The full-depth radiograph of a single-frame grayscale DICOM file (see the module docstring)."""
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    name = name or Path(path).name
    try:
        ds = pydicom.dcmread(str(path))
    except (InvalidDicomError, OSError, EOFError, ValueError) as exc:
        raise DicomError(f"{name}: not a readable DICOM file ({exc}).") from None
    raw = _decoded(ds, name)
    values = np.asarray(apply_modality_lut(raw, ds), dtype=np.float64)
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if "VOILUTSequence" in ds:
        values = np.asarray(apply_voi_lut(values, ds, index=0), dtype=np.float64)
        center = width = None  # the table is the presentation; the window below is its full range
    lo, hi = float(values.min()), float(values.max())
    if str(ds.PhotometricInterpretation).upper() == "MONOCHROME1":
        values = hi + lo - values  # invert within the same range; the window's centre mirrors with it
        center = None if center is None else hi + lo - center
    integral = np.all(values == np.rint(values))
    scale = 1.0 if integral and hi - lo <= 65535 else 65535.0 / max(hi - lo, 1e-12)
    pixels = np.rint((values - lo) * scale).astype(np.uint16)
    max_value = int(pixels.max())
    from_file = center is not None and width is not None and width > 0
    if from_file:
        center, width = (center - lo) * scale, width * scale
    else:
        center, width = max_value / 2, float(max(max_value, 1))
    spacing, source = _spacing(ds)
    return Radiograph(
        pixels=pixels,
        max_value=max_value,
        center=float(center),
        width=float(width),
        window_from_file=from_file,
        spacing_mm=spacing,
        spacing_source=source,
    )
