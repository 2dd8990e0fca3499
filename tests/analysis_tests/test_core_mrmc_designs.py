"""MRMC beyond the published example: bad input, one reader or one modality, split-plot calibration."""

import re

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from analysis.core.perception.delong import components, delong_cov, jackknife_cov, leave_one_out
from analysis.core.perception.mrmc import analyse
from analysis.core.perception.mrmc_data import MrmcData, MrmcInputError, prepare_mrmc
from analysis.core.perception.roemetz import RoeMetz, simulate_roemetz


def frame_from(scores: np.ndarray, truth: np.ndarray) -> pd.DataFrame:
    m, r, c = np.nonzero(~np.isnan(scores))
    rows = {"reader": r, "modality": m, "case": c, "truth": truth[c].astype(int), "rating": scores[m, r, c]}
    return pd.DataFrame(rows)


@pytest.fixture
def small():
    scores, truth = simulate_roemetz(RoeMetz(delta=0.3), 4, 12, 15, np.random.default_rng(3))
    return frame_from(np.round(scores, 1), truth)


def test_leave_one_out_aucs_equal_recomputing_without_the_case(small):
    data = prepare_mrmc(small)
    flat = data.scores.reshape(-1, len(data.cases))
    loo = leave_one_out(components(flat, data.truth))
    for c in (0, 5, 20):
        keep = np.arange(len(data.cases)) != c
        assert np.allclose(loo[:, c], components(flat[:, keep], data.truth[keep]).auc)


def test_readers_in_different_groups_have_zero_covariance():
    scores, truth = simulate_roemetz(RoeMetz(), 4, 20, 20, np.random.default_rng(0), groups=2)
    comp = components(scores.reshape(8, -1), truth)
    for cov in (delong_cov(comp), jackknife_cov(comp)):
        # readings: modality 0 readers 0-3, modality 1 readers 0-3; readers 0,1 form group 0 and 2,3 group 1
        assert cov[0, 2] == 0 and cov[1, 7] == 0 and cov[0, 1] != 0 and cov[0, 4] != 0
    assert prepare_mrmc(frame_from(scores, truth)).design == "split-plot"


def test_one_reader_says_what_cannot_be_estimated_and_gives_the_fixed_reader_test(small):
    res = analyse(prepare_mrmc(small[small["reader"] == 0]))
    assert res["random_readers"] == {}
    assert "X2" in res["fixed_readers"] and 0 < res["fixed_readers"]["p"] < 1
    assert any(n.startswith("not estimable: one reader") for n in res["notes"])
    assert "se" not in res["modality"][0] and res["modality"][0]["se_fixed_readers"] > 0


def test_one_modality_gives_the_auc_ci_and_no_f_test(small):
    res = analyse(prepare_mrmc(small[small["modality"] == 0]))
    assert res["random_readers"] == {} and res["differences"] == []
    assert np.isnan(res["cov1"]) and np.isnan(res["ms_t"])
    row = res["modality"][0]
    assert row["ci_low"] < row["auc"] < row["ci_high"]
    assert any(n.startswith("not estimable: one modality") for n in res["notes"])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns="truth"), "lacks the column(s) truth"),
        (lambda f: f.assign(rating=f["rating"].astype(object).where(f.index != 3, "high")), "row(s) 5 are not"),
        (lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True), "rate the same (reader, modality, case)"),
        (lambda f: f.assign(truth=np.where(f.index == 0, 1 - f["truth"], f["truth"])), "both truth 0 and truth 1"),
        (lambda f: f[~((f["reader"] == 2) & (f["modality"] == 1))], "Reader 2 rated no case in modality 1"),
        (lambda f: f.assign(truth=1), "Every case has the same truth"),
    ],
)
def test_bad_tables_are_refused_naming_the_row_or_reading(small, edit, message):
    with pytest.raises(MrmcInputError, match=re.escape(message)):
        prepare_mrmc(edit(small))


@pytest.mark.parametrize("groups", [1, 3])
def test_f_test_keeps_its_size_under_the_null_in_crossed_and_split_plot_designs(groups):
    rng = np.random.default_rng(groups)
    p = []
    with threadpool_limits(1):
        for _ in range(200):
            scores, truth = simulate_roemetz(RoeMetz(delta=0.0), 6, 30, 30, rng, groups=groups)
            data = MrmcData(["A", "B"], list("123456"), [str(c) for c in range(60)], truth, scores)
            p.append(analyse(data)["random_readers"]["p"])
    rate = np.mean(np.array(p) < 0.05)
    # 200 studies: the Monte Carlo SE of a 5% rate is 1.5 points; OR tests are known to be slightly conservative.
    assert 0.01 <= rate <= 0.10, rate


def test_a_planted_modality_difference_is_detected_in_a_split_plot():
    scores, truth = simulate_roemetz(RoeMetz(delta=1.5), 9, 90, 90, np.random.default_rng(7), groups=3)
    res = analyse(prepare_mrmc(frame_from(scores, truth)))
    assert res["design"] == "split-plot" and len(res["reader_groups"]) == 3
    assert res["random_readers"]["p"] < 0.01
    assert res["differences"][0]["ci_high"] < 0  # modality 0 - modality 1 < 0


def _null_p_values(groups: int, anchors: int, one_modality: bool, seed: int, n: int = 200) -> np.ndarray:
    """p-values of n null studies: forms of cases, plus `anchors` positive and negative cases everyone reads."""
    rng, p = np.random.default_rng(seed), []
    model = RoeMetz(mu_pos=0.0 if one_modality else 1.0)  # null: AUC = 0.5, or equal modalities
    with threadpool_limits(1):
        for _ in range(n):
            everyone, truth = simulate_roemetz(model, 6, 30, 30, rng)
            scores, _ = simulate_roemetz(model, 6, 30, 30, rng, groups=groups)
            shared = np.r_[0:anchors, 30 : 30 + anchors]
            scores[:, :, shared] = everyone[:, :, shared]
            scores = scores[:1] if one_modality else scores
            data = MrmcData(["A", "B"][: len(scores)], list("123456"), [str(c) for c in range(60)], truth, scores)
            res = analyse(data)
            p.append(res["modality"][0]["p_vs_half"] if one_modality else res["random_readers"]["p"])
    return np.array(p)


@pytest.mark.parametrize(
    ("groups", "anchors", "one_modality"),
    [(3, 4, False), (3, 0, True), (3, 4, True)],
    ids=["forms-with-anchors-F", "forms-auc-vs-half", "forms-with-anchors-auc-vs-half"],
)
def test_tests_keep_their_size_when_forms_share_anchor_cases(groups, anchors, one_modality):
    rate = np.mean(_null_p_values(groups, anchors, one_modality, seed=groups + anchors) < 0.05)
    assert 0.01 <= rate <= 0.10, rate  # 200 studies: Monte Carlo SE of a 5% rate is 1.5 points
