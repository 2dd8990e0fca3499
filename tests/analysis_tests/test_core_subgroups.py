"""Subgroup forgetting: exact subgroup metrics, the underdiagnosis rate by hand, reproducible
patient-level bootstrap CIs, "not estimable" instead of numbers from too few positives, PIE enrichment."""

import numpy as np
import pandas as pd
import scipy.stats as sps
from sklearn.metrics import average_precision_score, roc_auc_score

from analysis.core.boot import holm, patient_codes
from analysis.core.subgroups import MACRO, compute_subgroups
from common.metadata import NA, align_metadata

NAMES = ["No Finding", "Effusion", "Nodule"]


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 3)) < [0, 0.3, 0.2]).astype(np.uint8)
    y[:, 0] = y[:, 1:].sum(1) == 0
    probs = np.clip(0.35 * y + rng.random((2, 3, n, 3)) * 0.7, 0, 1).astype(np.float32)  # [seeds, S, N, C]
    meta = pd.DataFrame(
        {
            "patient_id": [f"p{i // 2}" for i in range(n)],
            "sex": rng.choice(["F", "M", NA], n, p=[0.45, 0.5, 0.05]),
            "age_band": NA,
            "view": rng.choice(["AP", "PA"], n),
        },
        index=[f"i{i}" for i in range(n)],
    )
    return probs, y, meta


def test_subgroup_auroc_and_ap_equal_scikit_learn_to_1e_12():
    probs, y, meta = _data()
    mean = probs.mean(axis=0)
    res = compute_subgroups(mean, y, np.array([0, 0.5, 0.9]), NAMES, meta, n_boot=50)
    row = res.metrics.query("level == 0.5 and attribute == 'sex' and group == 'F' and `class` == 'Effusion'").iloc[0]
    idx = (meta["sex"] == "F").to_numpy()
    assert abs(row["auc"] - roc_auc_score(y[idx, 1], mean[1, idx, 1])) < 1e-12
    assert abs(row["ap"] - average_precision_score(y[idx, 1], mean[1, idx, 1])) < 1e-12
    assert row["n"] == idx.sum() and row["n_pos"] == y[idx, 1].sum()
    assert set(res.metrics["group"]) == {"F", "M", "AP", "PA"}  # "not available" is never a subgroup


def test_underdiagnosis_rate_on_a_hand_computed_fixture():
    # 8 images; "No Finding" label 0 means the image has a finding. Group A: images 0-3, B: 4-7.
    y = np.array([[0, 1], [0, 1], [0, 1], [1, 0], [0, 1], [0, 1], [1, 0], [1, 0]], np.uint8)
    nf_score = np.array([0.9, 0.2, 0.7, 0.9, 0.1, 0.6, 0.2, 0.8])
    probs = np.stack([nf_score, 1 - nf_score], axis=1)[None]  # [S=1, N, C]
    meta = pd.DataFrame({"patient_id": [str(i) for i in range(8)], "g": list("AAAABBBB")}, index=list("abcdefgh"))
    res = compute_subgroups(probs, y, np.array([0.0]), ["No Finding", "Effusion"], meta, n_boot=20, min_finding=1)
    rates = res.underdiagnosis.set_index("group")["rate"]
    # A: findings at 0, 1, 2; called No Finding (> 0.5) at 0 and 2 -> 2/3. B: findings at 4, 5; 5 called -> 1/2.
    assert rates["A"] == 2 / 3 and rates["B"] == 1 / 2
    gap = res.gaps.iloc[0]  # reference is the larger group; equal sizes: the first seen (A)
    assert gap["group"] == "B" and gap["reference"] == "A" and np.isclose(gap["gap"], 1 / 2 - 2 / 3)


def test_bootstrap_cis_are_reproducible_by_seed_and_change_with_it():
    probs, y, meta = _data()
    mean = probs.mean(axis=0)
    levels = np.array([0, 0.5, 0.9])
    a = compute_subgroups(mean, y, levels, NAMES, meta, seed_nf=probs[..., 0], n_boot=200, seed=7)
    b = compute_subgroups(mean, y, levels, NAMES, meta, seed_nf=probs[..., 0], n_boot=200, seed=7)
    c = compute_subgroups(mean, y, levels, NAMES, meta, seed_nf=probs[..., 0], n_boot=200, seed=8)
    cols = ["gap_ci_lo", "gap_ci_hi", "change_ci_lo", "change_ci_hi"]
    pd.testing.assert_frame_equal(a.gaps[cols], b.gaps[cols])
    assert not a.gaps[cols].equals(c.gaps[cols])
    g = a.gaps.query("level == 0.9").iloc[0]
    assert g["gap_ci_lo"] <= g["gap"] <= g["gap_ci_hi"] and g["n_seeds"] == 2


def test_too_few_positives_are_not_estimable_and_never_a_number():
    probs, y, meta = _data(n=200)
    y[:, 2] = 0
    y[:3, 2] = 1  # three Nodule positives in all
    res = compute_subgroups(probs.mean(0), y, np.array([0, 0.5, 0.9]), NAMES, meta, n_boot=20)
    nod = res.metrics[res.metrics["class"] == "Nodule"]
    assert not nod["estimable"].any() and nod[["auc", "ap", "f1"]].isna().all().all()
    macro = res.metrics[res.metrics["class"] == MACRO]
    assert macro["auc"].notna().all()  # the macro uses only the classes estimable in every subgroup


def test_pie_enrichment_is_fisher_per_subgroup_with_holm_across_subgroups():
    probs, y, meta = _data()
    is_pie = (meta["view"] == "AP").to_numpy() & (np.arange(len(meta)) % 5 == 0)
    res = compute_subgroups(probs.mean(0), y, np.array([0, 0.5, 0.9]), NAMES, meta, is_pie=is_pie, n_boot=20)
    ap = res.pie_enrichment.set_index("group").loc["AP"]
    known = meta["view"] != NA
    inside = (meta["view"] == "AP").to_numpy()
    table = [[(inside & is_pie).sum(), (inside & ~is_pie).sum()], [(~inside & is_pie).sum(), (~inside & ~is_pie).sum()]]
    assert known.all() and ap["p"] == sps.fisher_exact(table)[1]
    assert ap["p_holm"] == min(1.0, ap["p"] * 4) or ap["p_holm"] >= ap["p"]


def test_holm_matches_a_hand_computed_example():
    assert np.allclose(holm([0.01, 0.04, 0.03, float("nan")])[:3], [0.03, 0.06, 0.06])


def test_an_image_without_a_patient_id_is_its_own_patient():
    codes = patient_codes(["a", NA, "a", NA], NA)
    assert codes[0] == codes[2] and len(set(codes)) == 3


def test_no_metadata_gives_empty_tables_not_a_crash():
    probs, y, _ = _data(n=50)
    res = compute_subgroups(probs.mean(0), y, np.array([0, 0.5, 0.9]), NAMES, align_metadata(None, range(50)))
    assert res.metrics.empty and res.underdiagnosis.empty and res.gaps.empty and res.pie_enrichment is None
