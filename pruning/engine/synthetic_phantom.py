"""Procedural frontal chest radiograph: body, lungs, heart, mediastinum, ribs, clavicles, vessels.

Rendering builds an attenuation map ``A`` (soft tissue ~1, lung air subtracted, bone, fluid and
opacities added), turns it into film brightness ``I = 1 - exp(-k A)`` (denser = brighter, as on
a radiograph), then degrades it by the hidden image quality (contrast, blur, noise). Findings
(``synthetic_findings``) edit the geometry before the lungs are drawn and ``A`` after. Every step
is a whole-array numpy operation, so a 256 px image costs a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from pruning.engine.synthetic_lungs import PAD, LungBank, M

# px: film grain resolution (see ``film``). Grain a few pixels across (quantum mottle) survives the shrink to
# the 64 px a demo model reads; per-pixel noise at 256 or 512 px would average away.
NOISE_GRID = 128


@dataclass(frozen=True)
class Case:
    """What one image shows; everything else (pose, anatomy, finding sides) comes from the rng."""

    findings: frozenset[str] = frozenset()
    strength: float = 1.0  # 0..1 scale of every finding signature (low = subtle)
    noise_sigma: float = 0.008  # additive Gaussian noise, fraction of full brightness
    blur_sigma: float = 0.4  # Gaussian blur in pixels at 512 px (scaled with the size)
    exposure: float = 1.0  # multiplies attenuation: < 1 dark/over-penetrated, > 1 washed out
    contrast: float = 1.0  # gamma applied to brightness
    view: str = "PA"  # AP (portable) films magnify the heart a little
    lung_shape: int | None = None  # index into the lung bank; None lets the rng pick


@dataclass
class Ctx:
    """Arrays and geometry shared by the anatomy and finding painters of one image."""

    x: np.ndarray
    y: np.ndarray
    xh: np.ndarray  # half-resolution grid: smooth fields are computed there and upsampled
    yh: np.ndarray
    rng: np.random.Generator
    size: int
    g: dict
    bank_sdf: np.ndarray | None = None  # [2, M, M] for this image
    sdf: list[np.ndarray] = field(default_factory=list)  # per lung, image units, < 0 inside
    lung: list[np.ndarray] = field(default_factory=list)  # per lung, soft 0..1
    A: np.ndarray | None = None
    lung_air: np.ndarray | None = None  # both lungs minus the heart: where air darkens A
    mark: np.ndarray | None = None  # multiplier on vessel markings (0 where they vanish)
    vessels: np.ndarray | None = None
    warp: np.ndarray | None = None
    ribs: np.ndarray | None = None

    def up(self, a: np.ndarray) -> np.ndarray:
        """Bilinear upsampling of a half-resolution field to the full image."""
        if a.shape[0] == self.size:
            return a
        return np.asarray(Image.fromarray(a).resize((self.size, self.size), Image.Resampling.BILINEAR))

    @property
    def edge(self) -> float:
        return 1.2 / self.size

    def lateral(self, k: int) -> np.ndarray:
        """0 at the midline .. 1 at the lateral edge of lung ``k``'s half of the box."""
        g = self.g
        return (g["cx"] - self.x if k == 0 else self.x - g["cx"]) / g["hw"]

    def vpos(self, k: int) -> np.ndarray:
        """0 at the apex .. 1 at the base of lung ``k``."""
        return (self.y - self.g["yt"]) / (self.g["yb"][k] - self.g["yt"])

    def sdf_at(self, k: int, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        g = self.g
        u = (xs - (g["cx"] - g["hw"])) / (2 * g["hw"])
        v = (ys - g["yt"]) / (g["yb"][k] - g["yt"])
        scale = (M - 1) / (1 + 2 * PAD)
        coords = [(v + PAD) * scale, (u + PAD) * scale]
        raw = ndi.map_coordinates(self.bank_sdf[k], coords, order=1, mode="nearest")
        return (raw * g["unit"]).astype(np.float32)

    def point_in_lung(self, k: int, margin: float, vmin=0.1, vmax=0.9) -> tuple[float, float]:
        """A random point of lung ``k`` at least ``margin`` inside its edge (rejection sampling)."""
        g = self.g
        for _ in range(8):
            n = 64
            side = -1 if k == 0 else 1
            xs = g["cx"] + side * g["hw"] * self.rng.uniform(0.15, 0.95, n)
            ys = g["yt"] + (g["yb"][k] - g["yt"]) * self.rng.uniform(vmin, vmax, n)
            ok = np.flatnonzero(self.sdf_at(k, xs, ys) < -margin)
            if len(ok):
                return float(xs[ok[0]]), float(ys[ok[0]])
            margin *= 0.5
        return float(g["cx"] + (-1 if k == 0 else 1) * 0.5 * g["hw"]), float(g["hilum_y"])


def sig(z: np.ndarray) -> np.ndarray:
    """Logistic function via tanh (no overflow warnings for large |z|)."""
    return 0.5 + 0.5 * np.tanh(0.5 * z)


@lru_cache(maxsize=4)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    x, y = np.meshgrid(c, c)
    return x, y


def smooth_noise(rng: np.random.Generator, n: int, sigma: float, size: int) -> np.ndarray:
    """Unit-variance band-limited noise: smoothed on an n x n grid, upsampled to size x size."""
    a = ndi.gaussian_filter(rng.standard_normal((n, n)).astype(np.float32), sigma, mode="wrap")
    a /= a.std() + 1e-6
    return np.asarray(Image.fromarray(a).resize((size, size), Image.Resampling.BILINEAR))


def geometry(case: Case, rng: np.random.Generator, n_shapes: int) -> dict:
    """Pose and anatomy of one patient (before findings change it)."""
    yb = 0.745 + rng.normal(0, 0.018)
    g = {
        "angle": rng.normal(0, 0.02),
        "cx": 0.5 + rng.normal(0, 0.01),
        "yt": 0.125 + rng.normal(0, 0.01),
        # the patient's right hemidiaphragm (image left) usually sits a little higher
        "yb": [yb - abs(rng.normal(0.012, 0.008)), yb],
        "hw": 0.355 + rng.normal(0, 0.014),
        "body_extra": rng.uniform(0.07, 0.12),
        "heart": rng.uniform(0.92, 1.04) * (1.07 if case.view == "AP" else 1.0),
        "shape": case.lung_shape if case.lung_shape is not None else int(rng.integers(n_shapes)),
        "gastric": rng.random() < 0.6,
    }
    g["hilum_y"] = g["yt"] + 0.38 * (yb - g["yt"])
    return g


def _ribs(c: Ctx, body: np.ndarray) -> np.ndarray:
    """Posterior and anterior ribs; crisper over aerated lung than over soft tissue."""
    g = c.g
    ux = np.abs(c.x - g["cx"]) / g["hw"]
    sp = (g["yb"][1] - g["yt"]) / 9.0
    # Posterior ribs rise a little from the spine, then curve down along the lateral wall.
    t = (c.y - g["yt"] + 0.03 - (-0.05 * ux + 0.2 * ux * ux * np.sqrt(ux))) / sp
    d = np.abs(t - np.round(t))
    rib = 0.55 * np.exp(-((d / 0.2) ** 2)) + 0.45 * np.exp(-(((d - 0.2) / 0.05) ** 2))
    keep = sig((t + 0.3) / 0.1) * sig((9.6 - t) / 0.1) * sig((ux - 0.08) / 0.02)
    keep *= sig((1.12 - ux) / 0.03)
    # Anterior ribs: fainter, sloping down towards the midline.
    ta = (c.y - g["yt"] - 0.1 + 0.14 * ux) / (1.15 * sp)
    da = np.abs(ta - np.round(ta))
    ant = np.exp(-((da / 0.16) ** 2)) * sig((ux - 0.3) / 0.05) * sig((ta + 0.2) / 0.1)
    ant *= sig((7.5 - ta) / 0.1) * sig((1.05 - ux) / 0.03)
    return (0.12 * rib * keep + 0.04 * ant) * body


def _segment_dist(c: Ctx, p0: tuple[float, float], p1: tuple[float, float]) -> np.ndarray:
    (ax, ay), (bx, by) = p0, p1
    vx, vy = bx - ax, by - ay
    t = np.clip(((c.x - ax) * vx + (c.y - ay) * vy) / (vx * vx + vy * vy), 0, 1)
    return np.hypot(c.x - ax - t * vx, c.y - ay - t * vy)


def _vessels(c: Ctx) -> np.ndarray:
    """Branching vessel markings radiating from both hila (zero crossings of polar noise)."""
    g, out = c.g, np.zeros_like(c.xh)
    x, y = c.xh, c.yh
    warp = c.warp[:: c.size // len(x), :: c.size // len(x)][: len(x), : len(x)]
    lungs = [ln[:: c.size // len(x), :: c.size // len(x)][: len(x), : len(x)] for ln in c.lung]
    for k, dx in ((0, -0.105), (1, 0.095)):
        hx, hy = g["cx"] + dx, g["hilum_y"] - 0.01 * k
        nr, nt = 48, 320
        f = ndi.gaussian_filter(
            c.rng.standard_normal((nr, nt)).astype(np.float32), (2.5, 1.5), mode=("nearest", "wrap")
        )
        f /= f.std() + 1e-6
        r = np.hypot(x - hx, y - hy)
        th = np.arctan2(y - hy, x - hx) + 0.25 * warp  # curvy, not straight spokes
        ri = np.minimum((r * (nr / 0.6)).astype(np.int32), nr - 1)
        ti = ((th * (0.5 / np.pi) + 0.5) * nt).astype(np.int32) % nt
        # vessels taper: the ridge is wide near the hilum and thin in the periphery
        width = 0.25 * np.clip(0.1 / (r + 1e-3), 0.6, 2.5)
        ves = np.exp(-((f[ri, ti] / width) ** 2)) * np.exp(-r / 0.16) * sig((r - 0.03) / 0.01)
        out += (ves + 0.8 * np.exp(-((r / 0.035) ** 2))) * lungs[k]  # + the hilar shadow
    return c.up(out)  # the upsampling also softens their edges, as on film


def anatomy(c: Ctx, bank: LungBank) -> None:
    """Fill ``c.A`` with a normal chest and the lung arrays of ``c``."""
    g, x, y = c.g, c.x, c.y
    c.bank_sdf = bank.sdf[g["shape"] % len(bank)]
    g["unit"] = 0.5 * (2 * g["hw"] + (g["yb"][1] - g["yt"]))
    # distance fields are smooth: sample at half resolution, upsample (4x fewer lookups)
    c.sdf = [c.up(c.sdf_at(k, c.xh, c.yh)) for k in (0, 1)]
    c.lung = [sig(-s / c.edge) for s in c.sdf]
    neck, bw = 0.09, g["hw"] + g["body_extra"]
    half = neck + (bw - neck) * np.sqrt(np.clip(y / 0.13, 0, 1))
    ax = np.abs(x - g["cx"])
    body = sig((half - ax) / 0.012)
    below = sig((y - g["yb"][1] + 0.02) / 0.03)  # abdomen under the diaphragm: denser
    rel2 = (ax / half) ** 2
    A = body * (1.0 + 0.15 * rel2 * rel2)
    # Heart: a tilted ellipse between the lower lungs, apex pointing to image right; its lower
    # border merges with the diaphragm.
    hs, span = g["heart"], g["yb"][1] - g["yt"]
    hx, hy = g["cx"] + 0.035 * hs, g["yt"] + 0.74 * span
    rx, ry = 0.14 * hs, 0.095 * (1 + 0.6 * (hs - 1))
    ca, sa = np.cos(0.45), np.sin(0.45)
    dx, dy = x - hx, y - hy
    q = np.sqrt(((dx * ca + dy * sa) / rx) ** 2 + ((-dx * sa + dy * ca) / ry) ** 2)
    heart = sig((1 - q) * rx / 0.006)
    medw = 0.045 + 0.025 * np.clip((y - g["yt"]) / 0.3, 0, 1)
    med = sig((medw - ax) / 0.006)
    # One soft-tissue silhouette (max, not sum): heart, mediastinum and abdomen blend as on film.
    A += np.maximum(0.3 * np.maximum(med, heart), 0.25 * below)
    A -= 0.3 * sig((0.012 - np.abs(x - g["cx"])) / 0.003) * sig((g["yt"] + 0.17 - y) / 0.02)
    A += 0.2 * sig((0.028 - np.hypot(x - g["cx"] - 0.05, y - g["yt"] - 0.11)) / 0.004)
    vert = np.square(np.square(0.5 + 0.5 * np.cos(2 * np.pi * (y - g["yt"]) / 0.042)))
    A += sig((0.03 - ax) / 0.004) * (0.06 + 0.08 * vert) * (1 - 0.6 * below)
    # The heart hides the lung in front of or behind it: findings only paint aerated lung.
    c.lung = [lung_k * (1 - 0.9 * heart) for lung_k in c.lung]
    lung = np.clip(c.lung[0] + c.lung[1], 0, 1)
    v = np.clip((y - g["yt"]) / span, 0, 1)
    A -= lung * (0.78 - 0.14 * v * v - 0.07 * np.square(np.square(1 - v)))  # soft tissue overlaps bases, apices
    c.lung_air = lung
    c.ribs = _ribs(c, body)
    A += 0.06 * body * smooth_noise(c.rng, 8, 1.0, c.size)  # uneven soft tissue
    for sgn in (-1, 1):
        p0 = (g["cx"] + sgn * 0.06, g["yt"] + 0.04)
        p1 = (g["cx"] + sgn * 0.3, g["yt"] - 0.035)
        A += 0.16 * sig((0.016 - _segment_dist(c, p0, p1)) / 0.005) * body
    if g["gastric"]:
        gd = np.hypot((x - g["cx"] - 0.14) / 0.045, (y - g["yb"][1] - 0.05) / 0.028)
        A -= 0.35 * sig((1 - gd) / 0.1)
    A += 0.02 * lung * smooth_noise(c.rng, 64, 1.0, c.size)
    c.A = A
    c.mark = np.ones_like(A)
    c.warp = smooth_noise(c.rng, 16, 1.0, c.size)
    c.vessels = _vessels(c)


def film(c: Ctx, case: Case) -> np.ndarray:
    """Attenuation -> brightness -> quality degradations -> uint8."""
    air = c.lung_air * np.clip(c.mark, 0, 1)  # fluid and consolidation hide ribs and vessels
    A = c.A + 0.22 * c.vessels * c.mark * c.lung_air + c.ribs * (0.2 + 0.8 * air)
    img = 1.0 - np.exp(-1.05 * case.exposure * np.clip(A, 0, None))
    img = img ** np.float32(case.contrast)
    sigma = case.blur_sigma * c.size / 512
    if sigma > 0.05:
        img = ndi.gaussian_filter(img, sigma)
    if case.noise_sigma > 0:
        # Grain is drawn on a grid of at most NOISE_GRID px and upsampled, so a model that reads the film
        # downsampled (64 px) sees the same noise level whether the display copy is 256 or 512 px.
        n = min(c.size, NOISE_GRID)
        grain = c.rng.standard_normal((n, n), dtype=np.float32)
        if n < c.size:
            grain = np.asarray(Image.fromarray(grain).resize((c.size, c.size), Image.Resampling.BILINEAR))
        img = img + case.noise_sigma * grain
    return np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)


def make_ctx(case: Case, size: int, rng: np.random.Generator, n_shapes: int) -> Ctx:
    g = geometry(case, rng, n_shapes)
    ca, sa = np.float32(np.cos(g["angle"])), np.float32(np.sin(g["angle"]))

    def rotated(n: int) -> tuple[np.ndarray, np.ndarray]:
        x0, y0 = _grid(n)
        return 0.5 + (x0 - 0.5) * ca - (y0 - 0.45) * sa, 0.45 + (x0 - 0.5) * sa + (y0 - 0.45) * ca

    x, y = rotated(size)
    xh, yh = rotated(size // 2)
    return Ctx(x=x, y=y, xh=xh, yh=yh, rng=rng, size=size, g=g)
