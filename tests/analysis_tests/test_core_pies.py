"""PIE characterisation: prevalence ratio, disease-count bins, PIE table checks, hidden truth."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.core.pies import (
    PieInputError,
    align_hidden_truth,
    characterise_pies,
    count_bins,
    disease_counts,
    pie_mask,
)

NAMES = ["No Finding", "Effusion", "Mass"]


def test_disease_count_ignores_no_finding_and_id_like_numeric_columns():
    table = pd.DataFrame(
        {
            "Patient ID": [1041, 7, 99],
            "No Finding": [1, 0, 0],
            "Effusion": [0, 1, 1],
            "Mass": [0, 1, 0],
            "n_diseases": [5, 5, 5],
        }
    )
    assert disease_counts(table, NAMES).tolist() == [0, 2, 1]


def test_disease_count_bins_always_have_five_bins_even_when_some_are_empty():
    assert count_bins(np.array([0, 0, 2, 7, 4])).tolist() == [2, 0, 1, 0, 2]
    assert count_bins(np.array([], dtype=int)).tolist() == [0, 0, 0, 0, 0]


def test_prevalence_and_disease_count_ratios_on_a_hand_example():
    y = np.array([[0, 1, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]])
    is_pie = np.array([True, False, False, False])
    pc = characterise_pies(y, NAMES, is_pie)
    prev = pc.prevalence.set_index("class")
    assert prev.loc["Effusion", "ratio"] == pytest.approx(1.0 / (1 / 3))
    assert prev.loc["No Finding", "ratio"] == 0.0
    assert prev.loc["Mass", "ratio"] == np.inf  # present in PIEs only
    dc = pc.disease_counts.set_index("n_diseases")
    assert dc.loc["2", "ratio"] == np.inf and dc.loc["0", "ratio"] == 0.0
    assert np.isnan(dc.loc["4+", "ratio"])  # empty in both groups: no crash, no number
    assert pc.n_pies == 1


def test_pie_mask_checks_ids_and_indices():
    t = pd.DataFrame(
        {
            "image_index": [2, 0, 1],
            "image_id": ["c", "a", "b"],
            "correlation": [0.1, 0.9, 0.5],
            "is_pie": [True, False, False],
        }
    )
    assert pie_mask(t, 3, ["a", "b", "c"]).tolist() == [False, False, True]
    with pytest.raises(PieInputError, match="image_id 'c' but test image 2 is 'x'"):
        pie_mask(t, 3, ["a", "b", "x"])
    with pytest.raises(PieInputError, match="outside 0..1"):
        pie_mask(t, 2)


def test_hidden_truth_enrichment_uses_fisher_and_mann_whitney():
    rng = np.random.default_rng(0)
    n = 200
    is_pie = np.zeros(n, bool)
    is_pie[:20] = True
    noise = rng.random(n) < np.where(is_pie, 0.5, 0.1)
    quality = np.where(is_pie, rng.integers(1, 4, n), rng.integers(2, 6, n))
    truth = pd.DataFrame({"label_noise": noise, "quality": quality})
    y = (rng.random((n, 3)) < 0.3).astype(int)
    e = characterise_pies(y, NAMES, is_pie, truth).enrichment
    table = [[(noise & is_pie).sum(), (~noise & is_pie).sum()], [(noise & ~is_pie).sum(), (~noise & ~is_pie).sum()]]
    assert e["label_noise"]["p"] == pytest.approx(stats.fisher_exact(table).pvalue)
    assert e["label_noise"]["table"] == np.array(table).tolist()
    mw = stats.mannwhitneyu(quality[is_pie], quality[~is_pie], alternative="two-sided")
    assert e["quality"]["p"] == pytest.approx(mw.pvalue)
    assert e["quality"]["pie_mean"] < e["quality"]["non_pie_mean"]


def test_hidden_truth_is_aligned_by_image_id():
    truth = pd.DataFrame({"image_id": ["b", "a"], "label_noise": [True, False], "quality": [1, 5]})
    aligned = align_hidden_truth(truth, 2, ["a", "b"])
    assert aligned["quality"].tolist() == [5, 1]
    with pytest.raises(PieInputError, match="no row for image_id 'z'"):
        align_hidden_truth(truth, 2, ["a", "z"])


def test_subtle_findings_count_only_on_images_that_have_a_true_finding():
    # image 0: PIE, a subtle true finding; image 1: PIE, subtlety 5 but no finding (nothing to miss)
    truth = pd.DataFrame(
        {
            "label_noise": [False] * 6,
            "quality": [3] * 6,
            "subtlety": [5, 5, 1, 1, 4, 2],
            "true_No Finding": [0, 1, 0, 0, 0, 1],
            "true_a": [1, 0, 1, 1, 1, 0],
            "true_b": [1, 0, 0, 1, 0, 0],
        }
    )
    is_pie = np.array([True, True, False, False, False, False])
    e = characterise_pies(np.zeros((6, 3), int), NAMES, is_pie, truth).enrichment
    assert e["subtle_finding"]["table"] == [[1, 1], [1, 3]]
    assert e["subtlety"]["pie_mean"] == 5.0 and e["subtlety"]["non_pie_mean"] == 2.0  # images with a finding
    assert e["true_findings"]["pie_mean"] == 1.0 and e["true_findings"]["non_pie_mean"] == 1.0


def test_hidden_truth_without_subtlety_gives_no_subtlety_rows():
    truth = pd.DataFrame({"label_noise": [False, True], "quality": [1, 5]})
    e = characterise_pies(np.zeros((2, 3), int), NAMES, np.array([True, False]), truth).enrichment
    assert "subtle_finding" not in e and "subtlety" not in e
