"""Lung shapes for the chest phantom: real lung masks when available, a drawn outline otherwise.

``torchxrayvision`` ships 517 real lung segmentation masks (``semantic_masks_v7labs_lungs.zip``).
Each usable mask is cropped to the box around both lungs (plus a margin), resampled to an M x M
grid and stored as two signed distance fields (negative inside), one per lung. A signed distance
field gives the renderer, from one bilinear lookup, the lung itself (sdf < 0), soft edges, rims
along the pleura (pneumothorax, pleural thickening) and eroded or dilated lungs (fluid, collapse).

Box coordinates: u (0 = left edge of the image-left lung .. 1 = right edge of the image-right
lung) and v (0 = apex .. 1 = lowest costophrenic angle); the grid spans [-PAD, 1 + PAD] in both
so distances stay correct just outside the lungs. Distances are in box units.
"""

from __future__ import annotations

import importlib.util
import io
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi
from scipy.spatial import ConvexHull

M = 128  # bank grid size; lungs are smooth, so bilinear lookups from 128 px are enough
PAD = 0.10  # margin around the lung box, in box units
MIN_SOLIDITY = 0.88  # lung area / convex hull area; lower = annotation strokes or odd shapes
MASKS_ZIP = "semantic_masks_v7labs_lungs.zip"

# Image-left lung (the patient's right) outline in box units, clockwise from the apex; the other
# lung is its mirror image with a cardiac notch. Used only when the real masks are missing.
_OUTLINE = [
    (0.30, 0.00), (0.18, 0.06), (0.09, 0.22), (0.04, 0.48), (0.01, 0.78), (0.01, 1.00),
    (0.12, 0.93), (0.26, 0.86), (0.42, 0.84), (0.45, 0.60), (0.44, 0.30), (0.40, 0.07),
]  # fmt: skip
_NOTCH = {9: (0.60, 0.66), 8: (0.64, 0.80)}  # mirrored points pushed out by the heart


@dataclass(frozen=True)
class LungBank:
    """float32 sdf [K, 2, M, M]: channel 0 the image-left lung, 1 the image-right lung."""

    sdf: np.ndarray
    names: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.names)


def masks_zip_path() -> Path | None:
    """The lung-mask archive inside the installed torchxrayvision (found without importing it)."""
    spec = importlib.util.find_spec("torchxrayvision")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / MASKS_ZIP
    return path if path.is_file() else None


def _grid_axis() -> np.ndarray:
    return np.linspace(-PAD, 1 + PAD, M)


def _sdf(mask: np.ndarray) -> np.ndarray:
    """Signed distance (negative inside) in box units for an M x M boolean mask."""
    unit = (1 + 2 * PAD) / (M - 1)
    return ((ndi.distance_transform_edt(~mask) - ndi.distance_transform_edt(mask)) * unit).astype(np.float32)


def _from_real_mask(a: np.ndarray) -> np.ndarray | None:
    """Two-lung sdf [2, M, M] from a binary mask image, or None when it is not two lungs."""
    lab, n = ndi.label(a)
    if n < 2:
        return None
    sizes = ndi.sum_labels(a, lab, index=np.arange(1, n + 1))
    big = np.argsort(sizes)[::-1][:2] + 1
    if sizes[big[1] - 1] < 0.25 * sizes[big[0] - 1]:
        return None  # one lung missing or cut off
    comps = [lab == k for k in big]
    cx = [np.nonzero(c)[1].mean() for c in comps]
    comps = [comps[i] for i in np.argsort(cx)]
    rows, cols = np.nonzero(comps[0] | comps[1])
    y0, y1, x0, x1 = rows.min(), rows.max(), cols.min(), cols.max()
    h, w = y1 - y0, x1 - x0
    if w < 20 or not 0.6 < h / w < 1.4:
        return None  # a lateral view, a crop, or a single lung
    g = _grid_axis()
    rr = (y0 + g[:, None] * h) * np.ones((1, M))
    cc = np.ones((M, 1)) * (x0 + g[None, :] * w)
    out = []
    for c in comps:
        m = ndi.map_coordinates(c.astype(np.float32), [rr, cc], order=1, cval=0.0) > 0.5
        m = ndi.binary_opening(m, iterations=2)  # drop annotation strokes attached to a lung
        if m.sum() < 0.05 * M * M or m.sum() < MIN_SOLIDITY * ConvexHull(np.argwhere(m)).volume:
            return None
        out.append(_sdf(m))
    return np.stack(out)


def _smooth(sdf: np.ndarray) -> np.ndarray:
    """Round off the staircase a thresholded 128 px mask leaves in its distance field."""
    return ndi.gaussian_filter(sdf, (0, 1.5, 1.5)).astype(np.float32)


def _load_real(limit: int) -> tuple[list[np.ndarray], list[str]]:
    path = masks_zip_path()
    if path is None:
        return [], []
    sdfs, names = [], []
    with zipfile.ZipFile(path) as zf:
        members = sorted(n for n in zf.namelist() if not n.endswith("/"))
        for name in members:
            if len(sdfs) >= limit:
                break
            try:
                with Image.open(io.BytesIO(zf.read(name))) as im:
                    im.draft("L", (384, 384))
                    im = im.convert("L")
                    im.thumbnail((384, 384), Image.Resampling.NEAREST)
                    a = np.asarray(im) > 100  # JPEG masks carry ringing around 0/255
            except (OSError, ValueError, SyntaxError):
                continue
            sdf = _from_real_mask(a)
            if sdf is not None:
                sdfs.append(_smooth(sdf))
                names.append(name.rsplit("/", 1)[-1])
    return sdfs, names


def _procedural(k: int) -> list[np.ndarray]:
    """``k`` drawn lung pairs: the outline above, jittered with a fixed generator."""
    rng = np.random.default_rng(20230)
    out = []
    scale = (M - 1) / (1 + 2 * PAD)
    for _ in range(k):
        pts = np.array(_OUTLINE) + rng.normal(0, 0.012, (len(_OUTLINE), 2))
        right = np.array(_OUTLINE)
        right[:, 0] = 1 - right[:, 0]
        for i, p in _NOTCH.items():
            right[i] = p
        right += rng.normal(0, 0.012, right.shape)
        pair = []
        for outline in (pts, right):
            img = Image.new("1", (M, M), 0)
            xy = [((px + PAD) * scale, (py + PAD) * scale) for px, py in outline]
            ImageDraw.Draw(img).polygon(xy, fill=1)
            pair.append(_sdf(np.asarray(img, dtype=bool)))
        out.append(_smooth(np.stack(pair)))
    return out


@lru_cache(maxsize=4)
def load_bank(max_masks: int = 64, real: bool = True) -> LungBank:
    """Up to ``max_masks`` real lung pairs (first usable ones in name order: deterministic), or
    eight drawn pairs when ``real`` is False or the archive is not installed."""
    sdfs, names = _load_real(max_masks) if real else ([], [])
    if sdfs:
        return LungBank(np.stack(sdfs), tuple(names), f"torchxrayvision/{MASKS_ZIP}")
    proc = _procedural(8)
    return LungBank(np.stack(proc), tuple(f"procedural-{i}" for i in range(8)), "procedural")
