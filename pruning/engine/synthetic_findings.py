"""A visible signature for each of the 14 NIH ChestX-ray14 findings, painted onto the phantom.

``adjust_geometry`` applies findings that change anatomy (heart size, lung volume, diaphragm
height) before the lungs are drawn; ``paint`` adds the rest to the attenuation map. ``s`` is the
finding's strength in 0..1: small values give subtle, easily missed signatures.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pruning.engine.synthetic_phantom import Ctx, sig, smooth_noise

FINDINGS = (
    "Infiltration", "Effusion", "Atelectasis", "Nodule", "Mass", "Consolidation", "Pneumothorax",
    "Pleural Thickening", "Cardiomegaly", "Emphysema", "Edema", "Fibrosis", "Pneumonia", "Hernia",
)  # fmt: skip


def adjust_geometry(g: dict, findings: dict[str, float], sides: dict[str, int]) -> None:
    """Findings that move anatomy: g is changed in place before the lungs are sampled."""
    if "Cardiomegaly" in findings:
        g["heart"] *= 1.15 + 0.45 * findings["Cardiomegaly"]  # cardiothoracic ratio > 0.5
    if "Emphysema" in findings:
        s = findings["Emphysema"]  # hyperinflation: long lungs, flat diaphragm, narrow heart
        g["yb"] = [b + 0.045 * s for b in g["yb"]]
        g["hw"] += 0.012 * s
        g["heart"] *= 1 - 0.1 * s
    if "Fibrosis" in findings:
        g["yb"] = [b - 0.03 * findings["Fibrosis"] for b in g["yb"]]  # volume loss
    if "Atelectasis" in findings:
        k = sides["Atelectasis"]  # volume loss pulls one hemidiaphragm up
        g["yb"][k] -= 0.03 + 0.05 * findings["Atelectasis"]


def _blob(c: Ctx, px: float, py: float, r: float) -> np.ndarray:
    return np.hypot(c.x - px, c.y - py) / r


def _effusion(c: Ctx, k: int, s: float) -> None:
    both = c.rng.random() < 0.35
    for side in (0, 1) if both else (k,):
        inside = c.y[c.lung[side] > 0.5]
        if inside.size == 0:
            continue
        # from the lung's own lowest point (a real mask need not reach the box bottom)
        yb, yt = float(inside.max()), float(inside.min())
        level = yb - (0.08 + 0.17 * s) * (yb - yt)
        top = level - 0.07 * s * np.clip(c.lateral(side), 0, 1) ** 2  # meniscus up the wall
        fluid = sig((c.y - top) / 0.01) * c.lung[side]
        c.A += 0.72 * fluid
        c.mark *= 1 - fluid


def _pneumothorax(c: Ctx, k: int, s: float) -> None:
    lat, v = np.clip(c.lateral(k), 0, 1), c.vpos(k)
    # air along the apex and lateral wall; the collapsed lung edge is a thin white pleural line
    w = (0.025 + 0.06 * s) * np.clip(1.2 - v, 0, 1) * (0.3 + 0.7 * lat)
    rim = sig((c.sdf[k] + w) / c.edge) * c.lung[k]
    line = np.exp(-(((c.sdf[k] + w) / 0.0025) ** 2)) * c.lung[k] * (w > 0.012)
    c.A += -(0.07 + 0.08 * s) * rim + (0.1 + 0.12 * s) * line + 0.05 * s * (c.lung[k] - rim)
    c.mark *= 1 - rim


def _nodule(c: Ctx, k: int, s: float) -> None:
    for i in range(1 + (c.rng.random() < 0.4) + (c.rng.random() < 0.2)):
        side = k if i == 0 else int(c.rng.integers(2))
        r = (0.014 + 0.014 * s) * c.rng.uniform(0.8, 1.2)  # 1-2 cm: a pixel or two at the models' 64 px
        px, py = c.point_in_lung(side, 2 * r)
        c.A += (0.2 + 0.25 * s) * sig((1 - _blob(c, px, py, r)) / 0.12)


def _mass(c: Ctx, k: int, s: float) -> None:
    r = 0.035 + 0.045 * s
    px, py = c.point_in_lung(k, 0.6 * r, 0.15, 0.8)
    th = np.arctan2(c.y - py, c.x - px)
    p1, p2 = c.rng.uniform(0, 2 * np.pi, 2)
    lobes = 1 + 0.1 * np.sin(3 * th + p1) + 0.05 * np.sin(5 * th + p2)  # lobulated margin
    c.A += (0.3 + 0.25 * s) * sig((lobes - _blob(c, px, py, r)) / 0.07)


def _infiltration(c: Ctx, k: int, s: float) -> None:
    n = smooth_noise(c.rng, 24, 1.0, c.size)
    for side in (0, 1) if c.rng.random() < 0.5 else (k,):
        px, py = c.point_in_lung(side, 0.02, 0.2, 0.9)
        zone = np.exp(-(_blob(c, px, py, 0.12 + 0.08 * s) ** 2))
        c.A += (0.12 + 0.2 * s) * sig((n - 0.3) / 0.35) * zone * c.lung[side]


def _consolidation(c: Ctx, k: int, s: float) -> None:
    r = 0.07 + 0.06 * s
    px, py = c.point_in_lung(k, 0.03, 0.35, 0.9)
    n = smooth_noise(c.rng, 32, 1.0, c.size)
    blob = sig((1 - _blob(c, px, py, r) + 0.2 * n) / 0.08) * c.lung[k]
    c.A += (0.3 + 0.3 * s) * blob - 0.25 * s * blob * c.vessels  # + dark air bronchograms
    c.mark *= 1 - blob


def _pneumonia(c: Ctx, k: int, s: float) -> None:
    r = 0.09 + 0.05 * s
    px, py = c.point_in_lung(k, 0.02, 0.5, 0.92)
    n = smooth_noise(c.rng, 40, 1.0, c.size)
    patch = sig((0.4 + 0.6 * n - _blob(c, px, py, r) ** 2) / 0.15) * c.lung[k]
    c.A += (0.2 + 0.3 * s) * patch


def _edema(c: Ctx, k: int, s: float) -> None:
    for side, dx in ((0, -0.105), (1, 0.095)):
        haze = np.exp(-(_blob(c, c.g["cx"] + dx, c.g["hilum_y"], 0.16 + 0.04 * s) ** 2))
        c.A += (0.12 + 0.2 * s) * haze * c.lung[side]  # perihilar "bat wing"
        # Kerley B lines: short horizontal lines at the lateral costophrenic angles
        t = c.y / 0.011
        kb = np.exp(-(((t - np.round(t)) / 0.12) ** 2)) * sig((c.sdf[side] + 0.03) / c.edge)
        c.A += 0.1 * s * kb * (c.vpos(side) > 0.6) * c.lung[side]
    c.mark *= 1 + 0.5 * s


def _emphysema(c: Ctx, k: int, s: float) -> None:
    c.A -= (0.05 + 0.07 * s) * c.lung_air  # hyperlucent lungs with sparse markings
    c.mark *= 1 - 0.55 * s
    for _ in range(int(c.rng.integers(0, 3))):
        side = int(c.rng.integers(2))
        px, py = c.point_in_lung(side, 0.04, 0.05, 0.45)
        d = _blob(c, px, py, 0.025 + 0.02 * c.rng.random())
        bulla = sig((1 - d) / 0.06) * c.lung[side]
        c.A += -0.04 * bulla + 0.06 * np.exp(-(((d - 1) / 0.08) ** 2)) * c.lung[side]
        c.mark *= 1 - bulla


def _fibrosis(c: Ctx, k: int, s: float) -> None:
    f = smooth_noise(c.rng, 60, 1.0, c.size)  # coarse enough to survive the models' 64 px
    net = np.exp(-((f / 0.22) ** 2))  # reticular network: zero crossings of isotropic noise
    for side in (0, 1):
        weight = sig((c.sdf[side] + 0.07) / 0.015) * (0.3 + 0.7 * np.clip(c.vpos(side), 0, 1))
        c.A += (0.1 + 0.15 * s) * net * weight * c.lung[side]


def _atelectasis(c: Ctx, k: int, s: float) -> None:
    px, py = c.point_in_lung(k, 0.03, 0.55, 0.85)
    ang, half = c.rng.uniform(-0.35, 0.35), 0.06 + 0.05 * s
    p0 = (px - half * np.cos(ang), py - half * np.sin(ang))
    p1 = (px + half * np.cos(ang), py + half * np.sin(ang))
    vx, vy = p1[0] - p0[0], p1[1] - p0[1]
    t = np.clip(((c.x - p0[0]) * vx + (c.y - p0[1]) * vy) / (vx * vx + vy * vy), 0, 1)
    d = np.hypot(c.x - p0[0] - t * vx, c.y - p0[1] - t * vy)
    plate = np.exp(-((d / (0.005 + 0.004 * s)) ** 2)) * c.lung[k]  # plate-like band
    base = sig((c.vpos(k) - 0.82) / 0.04) * c.lung[k]
    c.A += (0.25 + 0.25 * s) * plate + 0.15 * s * base


def _pleural_thickening(c: Ctx, k: int, s: float) -> None:
    v, lat = c.vpos(k), np.clip(c.lateral(k), 0, 1)
    apical = c.rng.random() < 0.5  # apical cap or lateral wall
    weight = sig((0.3 - v) / 0.05) if apical else sig((lat - 0.6) / 0.05) * sig((0.9 - v) / 0.05)
    t = 0.012 + 0.016 * s
    band = sig((c.sdf[k] + t) / c.edge) * c.lung[k] * weight
    c.A += (0.35 + 0.25 * s) * band
    c.mark *= 1 - band


def _hernia(c: Ctx, k: int, s: float) -> None:
    # Hiatal hernia: a round retrocardiac sac above the diaphragm with an air-fluid level.
    r = 0.035 + 0.03 * s
    px, py = c.g["cx"] + c.rng.normal(0.01, 0.015), c.g["yb"][1] - 0.06 - 0.5 * r
    d = _blob(c, px, py, r)
    sac, gas = sig((1 - d) / 0.06), sig((0.85 - d) / 0.06) * sig((py + 0.15 * r - c.y) / 0.003)
    c.A += 0.12 * sac - (0.3 + 0.25 * s) * gas


def _cardiomegaly(c: Ctx, k: int, s: float) -> None:
    pass  # drawn by adjust_geometry (the heart outline is part of the normal anatomy)


PAINTERS: dict[str, Callable[[Ctx, int, float], None]] = {
    "Infiltration": _infiltration,
    "Effusion": _effusion,
    "Atelectasis": _atelectasis,
    "Nodule": _nodule,
    "Mass": _mass,
    "Consolidation": _consolidation,
    "Pneumothorax": _pneumothorax,
    "Pleural Thickening": _pleural_thickening,
    "Cardiomegaly": _cardiomegaly,
    "Emphysema": _emphysema,
    "Edema": _edema,
    "Fibrosis": _fibrosis,
    "Pneumonia": _pneumonia,
    "Hernia": _hernia,
}


def paint(c: Ctx, findings: dict[str, float], sides: dict[str, int]) -> None:
    """Add each finding's signature, in the fixed FINDINGS order (determinism).

    Subtlety is contrast as well as size: what a painter adds to the attenuation map (and takes from the
    vessel markings) is scaled by the strength ``s``, so a subtle finding (s ~ 0.3) is a faint version of an
    obvious one, not just a smaller one. Geometry changes (``adjust_geometry``) scale with ``s`` already.
    """
    for name in FINDINGS:
        if name in findings:
            s = findings[name]
            A0, mark0 = c.A.copy(), c.mark.copy()
            PAINTERS[name](c, sides[name], s)
            c.A = A0 + s * (c.A - A0)
            c.mark = mark0 + s * (c.mark - mark0)
