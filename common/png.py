"""A lossless PNG writer whose bytes differ from one call to the next while the pixels stay identical.

PNG filters each row before compressing it with one of five predictors (None, Sub, Up, Average, Paeth);
any choice decodes to the same pixels. Encoders pick filters by a fixed heuristic, so the same pixels
always give the same bytes, and a reader who holds the source image (NIH and MIMIC are public) could match a
case image to it byte for byte, or match a hidden repeat to its original. Here every row gets a filter drawn
at random (Sub, Up, Average or Paeth: 4**height choices), so two encodings of the same pixels share no
IDAT stream, while every decoder returns exactly the pixels given: no noise, nothing a reader sees or rates.

Rows are filtered and compressed in strips, so memory stays near the pixel array itself (no float copies,
no whole-image filter buffers). Pure: numpy and zlib only.
"""

from __future__ import annotations

import secrets
import struct
import zlib
from typing import BinaryIO

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
STRIP_ROWS = 64
FILTERS = np.array([1, 2, 3, 4], dtype=np.uint8)  # Sub, Up, Average, Paeth
IDAT_BYTES = 1 << 20


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _filtered(rows: np.ndarray, prior: np.ndarray, bpp: int, choice: np.ndarray) -> np.ndarray:
    """Rows (n, stride) uint8 filtered with per-row filter types `choice` (n,), prefixed by the type byte."""
    x = rows.astype(np.int16)
    up = np.vstack([prior[None, :], rows[:-1]]).astype(np.int16)
    left = np.zeros_like(x)
    left[:, bpp:] = x[:, :-bpp]
    upleft = np.zeros_like(x)
    upleft[:, bpp:] = up[:, :-bpp]
    out = np.empty_like(x)
    for kind in (1, 2, 3, 4):
        sel = choice == kind
        if not sel.any():
            continue
        a, b, c, v = left[sel], up[sel], upleft[sel], x[sel]
        if kind == 1:
            pred = a
        elif kind == 2:
            pred = b
        elif kind == 3:
            pred = (a + b) >> 1
        else:
            p = a + b - c
            pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
            pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
        out[sel] = v - pred
    body = (out & 0xFF).astype(np.uint8)
    return np.hstack([choice[:, None], body])


def write_png(pixels: np.ndarray, out: BinaryIO, *, seed: int | None = None, level: int = 6) -> None:
    """Write `pixels` (uint8, (h, w) grayscale or (h, w, 3) RGB) as an 8-bit PNG with random row filters
    (from `seed`, or fresh randomness when None)."""
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError("write_png takes uint8 (h, w) or (h, w, 3) pixels")
    height, width = pixels.shape[:2]
    bpp = 1 if pixels.ndim == 2 else 3
    rows = pixels.reshape(height, width * bpp)
    rng = np.random.default_rng(secrets.randbits(64) if seed is None else seed)
    choice = rng.choice(FILTERS, size=height)
    out.write(SIGNATURE)
    out.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0 if bpp == 1 else 2, 0, 0, 0)))
    packer = zlib.compressobj(level)
    pending = bytearray()
    prior = np.zeros(width * bpp, dtype=np.uint8)
    for start in range(0, height, STRIP_ROWS):
        strip = rows[start : start + STRIP_ROWS]
        pending += packer.compress(_filtered(strip, prior, bpp, choice[start : start + len(strip)]).tobytes())
        prior = strip[-1]
        while len(pending) >= IDAT_BYTES:
            out.write(_chunk(b"IDAT", bytes(pending[:IDAT_BYTES])))
            del pending[:IDAT_BYTES]
    pending += packer.flush()
    out.write(_chunk(b"IDAT", bytes(pending)))
    out.write(_chunk(b"IEND", b""))
