"""Characterising pruning-identified exemplars (PIEs), the paper's Fig 5, plus hidden-truth checks.

The PIEs themselves are selected by the engine (``pruning/engine/pies.py``); this module receives
its table (columns image_index, image_id, correlation, is_pie, ...) and the test labels.

Definitions:

* Class prevalence ratio: (share of PIEs with the class) / (share of non-PIEs with the class).
  0/0 gives NaN; x/0 with x > 0 gives inf.
* Number of diseases per image: positive labels over the class columns only, "No Finding"
  excluded (the paper summed every numeric column, ids included). Binned 0, 1, 2, 3, 4+ with
  every bin always present (count 0 when empty; the paper assumed every bin occurs).
* Hidden truth (synthetic data only): label noise (bool) compared by Fisher's exact test (2x2,
  two-sided; odds ratio PIE vs non-PIE) and image quality (1 poor .. 5 excellent) by a two-sided
  Mann-Whitney U test, plus Fisher's test on "low quality" (quality <= 2). When the hidden truth
  has ``subtlety`` (1 obvious .. 5 most subtle) and the true labels (``true_<class>``): Fisher's
  test on "a subtle finding" (at least one true finding and subtlety >= 4; an image without a
  finding has nothing subtle to show), and Mann-Whitney on subtlety among images with a true
  finding, and on the number of true findings per image ("No Finding" excluded).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from common.errors import AppError

NO_FINDING = "no finding"
BIN_LABELS = ["0", "1", "2", "3", "4+"]
LOW_QUALITY_MAX = 2
SUBTLE_MIN = 4


class PieInputError(AppError):
    """PIE table, labels or hidden truth that do not fit together."""


def label_matrix(labels: np.ndarray | pd.DataFrame, class_names: Sequence[str]) -> np.ndarray:
    """Class columns only, as int [N, C]; a DataFrame may carry other (id-like) columns."""
    if isinstance(labels, pd.DataFrame):
        missing = [c for c in class_names if c not in labels.columns]
        if missing:
            raise PieInputError(f"label table lacks class columns {missing}")
        return labels[list(class_names)].to_numpy().astype(np.int64)
    arr = np.asarray(labels)
    if arr.ndim != 2 or arr.shape[1] != len(class_names):
        raise PieInputError(f"labels shape {arr.shape} does not match {len(class_names)} classes")
    return arr.astype(np.int64)


def pie_mask(pie_table: pd.DataFrame, n_images: int, image_ids: Sequence[str] | None = None) -> np.ndarray:
    """Boolean [N] PIE indicator from the engine's table, checked against the test set."""
    for col in ("image_index", "is_pie"):
        if col not in pie_table.columns:
            raise PieInputError(f"pie_table lacks column {col!r}; has {list(pie_table.columns)}")
    idx = pie_table["image_index"].to_numpy()
    if idx.size and (idx.min() < 0 or idx.max() >= n_images):
        raise PieInputError(f"pie_table image_index outside 0..{n_images - 1}")
    if np.unique(idx).size != idx.size:
        raise PieInputError("pie_table image_index has duplicates")
    if image_ids is not None and "image_id" in pie_table.columns:
        want = np.asarray(image_ids, dtype=object)[idx].astype(str)
        got = pie_table["image_id"].to_numpy().astype(str)
        bad = np.flatnonzero(want != got)
        if bad.size:
            i = int(bad[0])
            raise PieInputError(
                f"pie_table row {i}: image_id {str(got[i])!r} but test image {int(idx[i])} is {str(want[i])!r}"
            )
    mask = np.zeros(n_images, dtype=bool)
    mask[idx] = pie_table["is_pie"].to_numpy().astype(bool)
    return mask


def disease_counts(labels: np.ndarray | pd.DataFrame, class_names: Sequence[str]) -> np.ndarray:
    """Positive labels per image over the class columns, "No Finding" excluded."""
    y = label_matrix(labels, class_names)
    keep = np.array([c.strip().lower() != NO_FINDING for c in class_names])
    return y[:, keep].sum(axis=1)


def count_bins(counts: np.ndarray, top: int = 4) -> np.ndarray:
    """Histogram of counts into 0, 1, ..., top-1, top+ (always ``top + 1`` bins)."""
    return np.bincount(np.minimum(np.asarray(counts, dtype=np.int64), top), minlength=top + 1)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(a, dtype=float) / np.asarray(b, dtype=float)


def prevalence_ratio(y: np.ndarray, class_names: Sequence[str], is_pie: np.ndarray) -> pd.DataFrame:
    n_p, n_n = int(is_pie.sum()), int((~is_pie).sum())
    pie_f = _ratio(y[is_pie].sum(axis=0), n_p)
    non_f = _ratio(y[~is_pie].sum(axis=0), n_n)
    return pd.DataFrame({"class": list(class_names), "pie_freq": pie_f, "non_pie_freq": non_f}).assign(
        ratio=_ratio(pie_f, non_f)
    )


def disease_count_ratio(counts: np.ndarray, is_pie: np.ndarray) -> pd.DataFrame:
    pie_c, non_c = count_bins(counts[is_pie]), count_bins(counts[~is_pie])
    pie_f, non_f = _ratio(pie_c, pie_c.sum()), _ratio(non_c, non_c.sum())
    return pd.DataFrame(
        {
            "n_diseases": BIN_LABELS,
            "pie_count": pie_c,
            "non_pie_count": non_c,
            "pie_freq": pie_f,
            "non_pie_freq": non_f,
            "ratio": _ratio(pie_f, non_f),
        }
    )


def _fisher(flag: np.ndarray, is_pie: np.ndarray) -> dict:
    a, b = int((flag & is_pie).sum()), int((~flag & is_pie).sum())
    c, d = int((flag & ~is_pie).sum()), int((~flag & ~is_pie).sum())
    odds, p = sps.fisher_exact([[a, b], [c, d]])
    return {
        "pie_rate": a / (a + b) if a + b else None,
        "non_pie_rate": c / (c + d) if c + d else None,
        "odds_ratio": float(odds) if math.isfinite(odds) else None,
        "p": float(p),
        "table": [[a, b], [c, d]],
        "test": "Fisher exact, two-sided",
    }


def align_hidden_truth(
    hidden_truth: pd.DataFrame, n_images: int, image_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """Rows in test-set order: by image_id (when both sides have ids), image_index, or position."""
    ht = hidden_truth
    for col in ("label_noise", "quality"):
        if col not in ht.columns:
            raise PieInputError(f"hidden_truth lacks column {col!r}; has {list(ht.columns)}")
    if image_ids is not None and "image_id" in ht.columns:
        by_id = ht.set_index(ht["image_id"].astype(str))
        missing = [i for i in map(str, image_ids) if i not in by_id.index]
        if missing:
            raise PieInputError(f"hidden_truth has no row for image_id {missing[0]!r}")
        return by_id.loc[[str(i) for i in image_ids]].reset_index(drop=True)
    if "image_index" in ht.columns:
        ht = ht.sort_values("image_index")
        if not np.array_equal(ht["image_index"].to_numpy(), np.arange(n_images)):
            raise PieInputError(f"hidden_truth image_index must cover 0..{n_images - 1} once")
        return ht.reset_index(drop=True)
    if len(ht) != n_images:
        raise PieInputError(f"hidden_truth has {len(ht)} rows but the test set has {n_images}")
    return ht.reset_index(drop=True)


def hidden_truth_enrichment(hidden_truth: pd.DataFrame, is_pie: np.ndarray) -> dict:
    """Label-noise and quality enrichment among PIEs (``hidden_truth`` already aligned)."""
    noise = hidden_truth["label_noise"].to_numpy().astype(bool)
    quality = hidden_truth["quality"].to_numpy().astype(float)
    out = {"label_noise": _fisher(noise, is_pie)}
    qp, qn = quality[is_pie], quality[~is_pie]
    if qp.size and qn.size:
        mw = sps.mannwhitneyu(qp, qn, alternative="two-sided")
        u, p = float(mw.statistic), float(mw.pvalue)
    else:
        u = p = None
    out["quality"] = {
        "pie_mean": float(qp.mean()) if qp.size else None,
        "non_pie_mean": float(qn.mean()) if qn.size else None,
        "u": u,
        "p": p,
        "test": "Mann-Whitney U, two-sided",
    }
    out["low_quality"] = _fisher(quality <= LOW_QUALITY_MAX, is_pie)
    true_cols = [c for c in hidden_truth.columns if c.startswith("true_") and c[5:].strip().lower() != NO_FINDING]
    if "subtlety" in hidden_truth.columns and true_cols:
        n_true = hidden_truth[true_cols].to_numpy().astype(int).sum(axis=1)
        subtlety = hidden_truth["subtlety"].to_numpy().astype(float)
        has = n_true > 0
        out["subtle_finding"] = _fisher(has & (subtlety >= SUBTLE_MIN), is_pie)
        out["subtlety"] = _mann_whitney(subtlety[has & is_pie], subtlety[has & ~is_pie]) | {
            "among": "images with a true finding"
        }
        out["true_findings"] = _mann_whitney(n_true[is_pie].astype(float), n_true[~is_pie].astype(float))
    return out


def _mann_whitney(a: np.ndarray, b: np.ndarray) -> dict:
    u = p = None
    if a.size and b.size:
        mw = sps.mannwhitneyu(a, b, alternative="two-sided")
        u, p = float(mw.statistic), float(mw.pvalue)
    return {
        "pie_mean": float(a.mean()) if a.size else None,
        "non_pie_mean": float(b.mean()) if b.size else None,
        "u": u,
        "p": p,
        "test": "Mann-Whitney U, two-sided",
    }


@dataclass
class PieCharacterisation:
    n_images: int
    n_pies: int
    prevalence: pd.DataFrame  # class, pie_freq, non_pie_freq, ratio
    disease_counts: pd.DataFrame  # n_diseases bin, counts, freqs, ratio
    disease_count_test: dict
    enrichment: dict | None = None

    def summary(self) -> dict:
        return {
            "n_images": self.n_images,
            "n_pies": self.n_pies,
            "disease_count_test": self.disease_count_test,
            "hidden_truth": self.enrichment,
        }


def characterise_pies(
    labels_test: np.ndarray | pd.DataFrame,
    class_names: Sequence[str],
    is_pie: np.ndarray,
    hidden_truth: pd.DataFrame | None = None,
) -> PieCharacterisation:
    y = label_matrix(labels_test, class_names)
    is_pie = np.asarray(is_pie, dtype=bool)
    if is_pie.shape != (y.shape[0],):
        raise PieInputError(f"is_pie has shape {is_pie.shape}; labels have {y.shape[0]} rows")
    counts = disease_counts(y, class_names)
    cp, cn = counts[is_pie], counts[~is_pie]
    test = {"test": "Mann-Whitney U, two-sided", "u": None, "p": None}
    if cp.size and cn.size:
        mw = sps.mannwhitneyu(cp, cn, alternative="two-sided")
        test.update(u=float(mw.statistic), p=float(mw.pvalue))
    test.update(pie_mean=float(cp.mean()) if cp.size else None)
    test.update(non_pie_mean=float(cn.mean()) if cn.size else None)
    enrich = None
    if hidden_truth is not None:
        if len(hidden_truth) != y.shape[0]:
            raise PieInputError(f"hidden_truth has {len(hidden_truth)} rows but labels have {y.shape[0]}")
        enrich = hidden_truth_enrichment(hidden_truth, is_pie)
    return PieCharacterisation(
        y.shape[0],
        int(is_pie.sum()),
        prevalence_ratio(y, class_names, is_pie),
        disease_count_ratio(counts, is_pie),
        test,
        enrich,
    )
