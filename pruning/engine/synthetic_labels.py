"""Label vectors, patient split and hidden ground truth for the synthetic CXR-LT.

Label vectors are whole rows of the real NIH ChestX-ray14 table (``Data_Entry_2017_v2020.csv.gz``,
112,120 images of 30,805 patients) that ``torchxrayvision`` ships, so class frequencies and
co-occurrences are the real long tail. Rows are drawn uniformly without replacement and keep their
real patient id, so the train/val/test split is by patient. Without the table a documented
generator stands in (independent findings at the NIH marginal rates, one image per patient).

Hidden truth per image (never shown to models or readers):
- quality: raw degradations (noise, blur, exposure, contrast) and a 1..5 score, 5 = excellent,
  from the worst single degradation: ``score = 5 - min(4, floor(5 * d))`` with ``d`` in 0..1;
- subtlety: a finding-signature strength in 0.3..1 (it scales each signature's size and contrast) and a
  1..5 score, 5 = most subtle;
- label noise: with probability ~``noise_rate`` (higher for poor-quality and subtle images) one
  finding is missing from, or wrongly added to, the label CSV; the image shows the true findings.

How label noise can go with PIE status (DESIGN.md section 6). A test image's label cannot change any
model's prediction, only its pixels can, and no part of the generator knows which images become PIEs
(it runs before any model exists). Label noise is therefore drawn from the same hidden variables that
shape the pixels, as a labeller would err: ``weight = 1 + 2 * [quality <= 2] + 1 * [subtlety >= 4]``
scales each image's noise probability (``noise_rate * weight / mean(weight)``), i.e. a labeller
misreads a poor film three times as often and misses or invents a finding twice as often on an
image whose signatures are faint. Poor quality (noise, blur, exposure, contrast in ``film``) and
subtlety (the strength of every finding's signature in ``synthetic_findings``) are the pixel-level
causes; any enrichment of label noise among PIEs passes through them and nothing else.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

NIH_TABLE = "Data_Entry_2017_v2020.csv.gz"
# The 14 findings plus "No Finding", ordered as in the paper's NIH-CXR-LT class list.
CLASSES = [
    "No Finding", "Infiltration", "Effusion", "Atelectasis", "Nodule", "Mass", "Consolidation",
    "Pneumothorax", "Pleural Thickening", "Cardiomegaly", "Emphysema", "Edema", "Fibrosis",
    "Pneumonia", "Hernia",
]  # fmt: skip
_NIH_SPELLING = {"Pleural Thickening": "Pleural_Thickening"}
# Fallback marginal rates: NIH image counts / 112,120 (used only without the real table).
_FALLBACK_RATE = {
    "Infiltration": 0.1774, "Effusion": 0.1188, "Atelectasis": 0.1031, "Nodule": 0.0565,
    "Mass": 0.0516, "Consolidation": 0.0416, "Pneumothorax": 0.0473, "Pleural Thickening": 0.0302,
    "Cardiomegaly": 0.0248, "Emphysema": 0.0224, "Edema": 0.0205, "Fibrosis": 0.0150,
    "Pneumonia": 0.0128, "Hernia": 0.0020,
}  # fmt: skip
# Worst blur, in px at 512 px (``film`` scales it with the size): 9 px is about one pixel of the 64 px image a
# demo model reads, so a poor film is poor for the model too, not only on the reader's screen.
BLUR_MAX = 9.0
_QUALITY_P = [0.04, 0.09, 0.17, 0.30, 0.40]  # P(score = 1..5) of the latent quality
# The one planted subgroup mechanism (generator version 3): an AP film is a portable film, taken at the
# bedside of a patient too ill to stand, and portable films are worse (positioning, exposure, motion).
# So each AP film loses one level of latent quality with this probability (never below the worst),
# which then acts through the same pixel degradations as any poor film (noise, blur, exposure,
# contrast). ``portable_degraded`` in the hidden truth flags the films it touched. The view itself is
# never drawn in the pixels, so a model can only "see" AP through the worse film.
PORTABLE_DROP = 0.6


def nih_table_path() -> Path | None:
    """The NIH table inside the installed torchxrayvision (found without importing it)."""
    spec = importlib.util.find_spec("torchxrayvision")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / NIH_TABLE
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def nih_rows() -> pd.DataFrame | None:
    """source_image, patient (int), view, sex, age, then one uint8 column per class; None if not shipped."""
    path = nih_table_path()
    if path is None:
        return None
    cols = ["Image Index", "Finding Labels", "Patient ID", "View Position", "Patient Age", "Patient Gender"]
    df = pd.read_csv(path, usecols=cols)
    found = df["Finding Labels"].str.get_dummies("|")
    out = pd.DataFrame(
        {
            "source_image": df["Image Index"],
            "patient": df["Patient ID"],
            "view": df["View Position"],
            "sex": df["Patient Gender"],
            "age": df["Patient Age"],
        }
    )
    for c in CLASSES:
        out[c] = found[_NIH_SPELLING.get(c, c)].astype(np.uint8)
    return out


def _fallback_rows(n: int, rng: np.random.Generator) -> pd.DataFrame:
    findings = CLASSES[1:]
    y = (rng.random((n, len(findings))) < [_FALLBACK_RATE[f] for f in findings]).astype(np.uint8)
    # No real rows: sex and age are not available (blank), the view is PA (no portable-film mechanism).
    out = pd.DataFrame({"source_image": "", "patient": np.arange(n), "view": "PA", "sex": "", "age": ""})
    out["No Finding"] = (y.sum(1) == 0).astype(np.uint8)
    for j, f in enumerate(findings):
        out[f] = y[:, j]
    return out


def split_by_patient(
    patients: np.ndarray, fractions: tuple[float, float, float], rng: np.random.Generator
) -> np.ndarray:
    """Split name per image; every image of a patient lands in the same split.

    Patients are shuffled and laid end to end by image count; a patient goes to the split that
    holds the middle of its run, so split sizes match ``fractions`` within one patient's images.
    """
    f = np.asarray(fractions, dtype=float)
    if f.shape != (3,) or (f < 0).any() or not np.isclose(f.sum(), 1.0):
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1: {f}")
    uniq, inverse, counts = np.unique(patients, return_inverse=True, return_counts=True)
    order = rng.permutation(len(uniq))
    mid = np.empty(len(uniq))
    mid[order] = np.cumsum(counts[order]) - counts[order] / 2
    bounds = np.cumsum(f)[:2] * len(patients)
    split_of_patient = np.searchsorted(bounds, mid, side="right")
    names = np.array(["train", "val", "test"])
    out = names[split_of_patient[inverse]]
    empty = [s for s in names if not (out == s).any()]
    if empty:
        raise ValueError(f"split(s) {empty} got no patient from {len(patients)} images; use more images")
    return out


def _quality(n: int, view: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    latent = rng.choice(5, n, p=_QUALITY_P)  # 0 = poor .. 4 = excellent
    # The planted subgroup mechanism (recorded per image as ``portable_degraded``): see PORTABLE_DROP.
    degraded = (view == "AP") & (rng.random(n) < PORTABLE_DROP) & (latent > 0)
    latent = np.where(degraded, latent - 1, latent)
    bad = (4 - latent + rng.random(n)) / 5  # 0..1, higher = worse
    parts = rng.random((n, 4)) ** 0.7  # how much of the badness each degradation carries
    noise = 0.004 + 0.06 * bad * parts[:, 0]
    blur = 0.3 + BLUR_MAX * bad * parts[:, 1]
    exposure = np.exp(rng.choice([-1.0, 1.0], n) * 0.55 * bad * parts[:, 2])
    contrast = np.exp(rng.choice([-1.0, 1.0], n) * 0.5 * bad * parts[:, 3])
    d = np.max(
        [
            (noise - 0.004) / 0.06,
            (blur - 0.3) / BLUR_MAX,
            np.abs(np.log(exposure)) / 0.55,
            np.abs(np.log(contrast)) / 0.5,
        ],
        axis=0,
    )
    score = 5 - np.minimum(4, np.floor(5 * d)).astype(int)
    return pd.DataFrame(
        {
            "portable_degraded": degraded.astype(np.uint8),
            "quality": score,
            "noise_sigma": noise.round(5),
            "blur_sigma": blur.round(4),
            "exposure": exposure.round(4),
            "contrast": contrast.round(4),
        }
    )


def _label_noise(
    truth: np.ndarray, weight: np.ndarray, rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Noisy copy of ``truth`` (N x 15, column 0 = No Finding) plus flag, kind and class."""
    n = len(truth)
    p = np.clip(rate * weight / weight.mean(), 0, 0.9) if rate > 0 else np.zeros(n)
    flag = rng.random(n) < p
    noisy = truth.copy()
    kinds, classes = [""] * n, [""] * n
    freq = truth[:, 1:].mean(0) + 1e-3  # wrongly added findings follow the real frequencies
    for i in np.flatnonzero(flag):
        pos = np.flatnonzero(truth[i, 1:]) + 1
        if len(pos) and (rng.random() < 0.5 or len(pos) == len(CLASSES) - 1):
            j = int(rng.choice(pos))
            noisy[i, j], kinds[i] = 0, "missing"
        else:
            neg = np.flatnonzero(truth[i, 1:] == 0) + 1
            j = int(rng.choice(neg, p=freq[neg - 1] / freq[neg - 1].sum()))
            noisy[i, j], kinds[i] = 1, "added"
        classes[i] = CLASSES[j]
        noisy[i, 0] = int(noisy[i, 1:].sum() == 0)  # keep "No Finding" consistent
    return noisy, flag, kinds, classes


def sample_plan(
    n: int,
    seed: int,
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
    noise_rate: float = 0.05,
) -> tuple[pd.DataFrame, str]:
    """Everything about ``n`` synthetic images except pixels; and where labels came from.

    Columns: id, patient_id, split, source_image, view, true_<class> and <class> (the label CSV
    value, noisy) for each class, quality columns, strength, subtlety, label_noise, noise_kind,
    noise_class.
    """
    if n < 10:
        raise ValueError(f"need at least 10 images for a train/val/test split, got {n}")
    rng = np.random.default_rng([int(seed), 1])
    table = nih_rows()
    if table is not None:
        rows = table.iloc[rng.choice(len(table), n, replace=n > len(table))].reset_index(drop=True)
        source = f"NIH ChestX-ray14 rows from torchxrayvision/data/{NIH_TABLE}"
    else:
        rows = _fallback_rows(n, rng)
        source = "fallback: independent findings at NIH marginal rates (table not installed)"
    truth = rows[CLASSES].to_numpy(np.uint8)
    q = _quality(n, rows["view"].to_numpy(), rng)
    strength = 0.3 + 0.7 * rng.beta(2.0, 1.4, n)
    subtlety = 1 + np.minimum(4, np.floor((1 - strength) / 0.7 * 5)).astype(int)
    weight = 1 + 2.0 * (q["quality"].to_numpy() <= 2) + 1.0 * (subtlety >= 4)
    noisy, flag, kinds, classes = _label_noise(truth, weight, noise_rate, rng)
    plan = pd.DataFrame(
        {
            "id": [f"syn{i:06d}" for i in range(n)],
            "patient_id": [f"p{int(p):05d}" for p in rows["patient"]],
            "split": split_by_patient(rows["patient"].to_numpy(), fractions, rng),
            "source_image": rows["source_image"],
            "view": rows["view"],
            "sex": rows["sex"],
            "age": rows["age"],
        }
    )
    for j, c in enumerate(CLASSES):
        plan[c] = noisy[:, j]
    for j, c in enumerate(CLASSES):
        plan[f"true_{c}"] = truth[:, j]
    plan = pd.concat([plan, q], axis=1)
    plan["strength"] = strength.round(4)
    plan["subtlety"] = subtlety
    plan["label_noise"] = flag.astype(np.uint8)
    plan["noise_kind"] = kinds
    plan["noise_class"] = classes
    return plan, source
