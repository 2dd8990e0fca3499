"""Known answers: the Van Dyke data analysed as published by MRMCaov (and RJafroc), to the printed digits.

Data and sources: tests/analysis_tests/data/vandyke_SOURCE.md. ``approx(x, abs=half a unit of the last printed
digit)`` is "equal to the printed digits".
"""

from pathlib import Path

import pandas as pd
import pytest

from analysis.core.perception.mrmc import analyse
from analysis.core.perception.mrmc_data import prepare_mrmc

DATA = Path(__file__).parent / "data" / "vandyke.csv"


def printed(value: float, digits: int):
    """pytest.approx to the printed significant digits of `value`."""
    from math import floor, log10

    return pytest.approx(value, abs=0.5 * 10 ** (floor(log10(abs(value))) - digits + 1))


@pytest.fixture(scope="module")
def vandyke():
    return prepare_mrmc(pd.read_csv(DATA))


def test_vandyke_csv_has_the_published_shape(vandyke):
    assert vandyke.design == "crossed"
    assert (len(vandyke.readers), len(vandyke.modalities), len(vandyke.cases)) == (5, 2, 114)
    assert int(vandyke.truth.sum()) == 45


def test_delong_analysis_reproduces_the_mrmcaov_paper(vandyke):
    res = analyse(vandyke, "delong")
    assert res["ms_t"] == printed(0.004796171, 7)
    assert res["ms_tr"] == printed(0.0005510306, 7)
    assert res["var_error"] == printed(0.0007921325, 7)
    assert res["cov1"] == printed(0.0003420090, 7)
    assert res["cov2"] == printed(0.0003395265, 7)
    assert res["cov3"] == printed(0.0002358497, 7)
    assert res["var_reader"] == printed(0.0015364254, 8)
    assert res["var_treatment_reader"] == printed(0.0002045840, 7)
    test = res["random_readers"]
    assert test["denominator"] == printed(0.001069415, 7)
    assert test["F"] == printed(4.484854, 7)
    assert test["ddf"] == printed(15.06611, 7)
    assert test["p"] == printed(0.05123303, 7)
    diff = res["differences"][0]
    assert diff["estimate"] == printed(-0.04380032, 7)
    assert diff["se"] == printed(0.0206825, 6)
    assert diff["ci_low"] == printed(-0.0878671960, 9)
    assert diff["ci_high"] == printed(0.0002665519, 7)
    cine, se_mri = res["modality"]
    assert cine["auc"] == printed(0.8970370, 7) and se_mri["auc"] == printed(0.9408374, 7)
    assert cine["ms_r"] == printed(0.003082629, 7) and cine["cov2"] == printed(0.0004775239, 7)
    assert cine["se"] == printed(0.03307642, 7) and cine["df"] == printed(12.59597, 7)
    assert (cine["ci_low"], cine["ci_high"]) == (printed(0.8253461, 7), printed(0.9687280, 7))
    assert se_mri["se"] == printed(0.02150464, 7) and se_mri["df"] == printed(12.56530, 7)
    assert (se_mri["ci_low"], se_mri["ci_high"]) == (printed(0.8942155, 7), printed(0.9874592, 7))


def test_jackknife_analysis_reproduces_mrmcaov_and_rjafroc(vandyke):
    res = analyse(vandyke, "jackknife")
    assert res["var_error"] == printed(0.0008022883, 7)
    assert res["cov1"] == printed(0.0003466137, 7)
    assert res["cov2"] == printed(0.0003440748, 7)
    assert res["cov3"] == printed(0.0002390284, 7)
    assert res["var_reader"] == printed(0.0015349993, 8)
    assert res["var_treatment_reader"] == printed(0.0002004025, 7)
    test = res["random_readers"]
    assert (test["F"], test["ddf"], test["p"]) == (printed(4.456319, 7), printed(15.25967, 7), printed(0.05166569, 7))
    diff = res["differences"][0]
    assert diff["se"] == printed(0.02074862, 7)
    assert (diff["ci_low"], diff["ci_high"]) == (printed(-0.0879594986, 9), printed(0.0003588544, 7))
    cine, se_mri = res["modality"]
    assert (cine["se"], cine["df"]) == (printed(0.03317360, 7), printed(12.74465, 7))
    assert (se_mri["ci_low"], se_mri["ci_high"]) == (printed(0.8941378, 7), printed(0.9875369, 7))
    # Fixed readers (MRMCaov "Fixed Factors"): same covariances, chi-square test and normal CIs.
    fixed = res["fixed_readers"]
    assert (fixed["denominator"], fixed["X2"]) == (printed(0.0008758604, 7), printed(5.475953, 7))
    assert fixed["p"] == printed(0.01927984, 7)
    assert diff["se_fixed_readers"] == printed(0.01871748, 7)
    assert (cine["se_fixed_readers"], se_mri["se_fixed_readers"]) == (printed(0.02428971, 7), printed(0.01677632, 7))


def test_cases_nested_within_readers_reproduce_the_published_f_and_df():
    frame = pd.read_csv(DATA)
    frame["case"] = frame["reader"].astype(str) + "." + frame["case"].astype(str)  # MRMCaov's `case2`
    data = prepare_mrmc(frame)
    res = analyse(data, "jackknife")
    assert data.design == "cases nested within readers"
    assert res["cov2"] == 0 and res["cov3"] == 0
    test = res["random_readers"]
    assert (test["F"], test["ddf"], test["p"]) == (printed(8.704, 4), 4, printed(0.04195875, 7))
    diff = res["differences"][0]
    assert (diff["se"], diff["ci_low"]) == (printed(0.01484629, 7), printed(-0.08502022, 7))
