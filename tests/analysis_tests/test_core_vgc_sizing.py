"""VGC analysis of perception ratings, and study sizing (power of the published PIE test, by simulation)."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from analysis.core.perception.calibration import binomial_band
from analysis.core.perception.data import prepare
from analysis.core.perception.odds_ratio import ordinal_fit
from analysis.core.perception.simulate import ReaderModel, simulated_tidy
from analysis.core.perception.sizing import SizingRequest, size_study, smallest
from analysis.core.perception.sizing_pie import PieModel, layout, pie_power, published_p, simulate_study
from analysis.core.perception.vgc import vgc_analysis


def test_vgc_recovers_the_planted_direction_of_each_question():
    res = vgc_analysis(simulated_tidy(6, 80, seed=1, questions=("quality", "difficulty")))
    rows = {r["question"]: r for r in res["rows"]}
    assert rows["difficulty"]["ci_low"] > 0.5 and rows["difficulty"]["p"] < 0.05  # PIEs planted harder
    assert rows["quality"]["ci_high"] < 0.5  # PIEs planted poorer quality
    assert rows["quality"]["design"] == "crossed"
    assert "rated PIEs higher" in res["sentences"][1]


def test_vgc_without_a_planted_effect_finds_no_clear_difference():
    model = ReaderModel(pie_effect={"difficulty": 0.0})
    res = vgc_analysis(simulated_tidy(5, 60, model=model, seed=4, questions=("difficulty",)))
    row = res["rows"][0]
    assert row["ci_low"] < 0.5 < row["ci_high"]
    assert "no clear difference" in res["sentences"][0]


def test_vgc_ignores_hidden_repeats_and_reports_forms_as_split_plot():
    tidy = simulated_tidy(4, 40, seed=2, questions=("difficulty",))
    tidy = tidy[~((tidy["reader"].isin(["R01", "R02"])) & (tidy["case_id"] % 2 == 1))]
    tidy = tidy[~((tidy["reader"].isin(["R03", "R04"])) & (tidy["case_id"] % 2 == 0))]
    repeat = tidy.iloc[[0]].assign(repeat_of_case_id=tidy["case_id"].iloc[0], value_numeric=5)
    res = vgc_analysis(tidy._append(repeat, ignore_index=True))
    assert res["rows"][0]["design"] == "split-plot"
    assert res["rows"][0]["n_cases"] == 40


def test_one_reader_vgc_gives_a_fixed_reader_interval_and_says_so():
    tidy = simulated_tidy(3, 40, seed=2, questions=("difficulty",))
    row = vgc_analysis(tidy[tidy["reader"] == "R01"])["rows"][0]
    assert row["note"].startswith("one reader: fixed-reader CI")
    assert row["ci_low"] < row["auc"] < row["ci_high"]


def test_sized_p_is_the_statistics_pages_p_for_the_same_answers():
    r, c, pie = layout(6, 24, cases_per_form=8)
    for model in (PieModel(), PieModel(scale=2, effect=-0.9, base=1.2)):
        inp = simulate_study(model, r, c, pie, seed=7)
        tidy = inp.answers.rename(columns={"case": "case_id", "y": "value_numeric"}).drop(columns="correlation")
        tidy["question_kind"], tidy["question_scale"] = model.spec().kind, model.scale
        page = prepare(tidy)  # the page's own path: validation, then the published odds ratio
        assert published_p(inp) == pytest.approx(ordinal_fit(page, page.questions[0])["p"], rel=1e-9)
        assert sorted(inp.answers["y"].unique()) == ([0.0, 1.0] if model.scale == 2 else [1.0, 2.0, 3.0, 4.0, 5.0])


def test_under_the_null_the_sized_power_is_the_type_one_error_alpha():
    n = 400  # 6 forms x 10 cases, each case read once (the study builder's design, smaller)
    with threadpool_limits(1):
        res = pie_power(PieModel(effect=0.0), 6, 60, n, np.random.default_rng(2), cases_per_form=10)
    lo, hi = binomial_band(n)
    assert lo <= res["power"] <= hi, res
    assert res["n_not_estimable"] == 0


def test_power_of_the_published_test_rises_with_readers_and_is_reproducible_by_seed():
    with threadpool_limits(1):
        few = pie_power(PieModel(), 3, 30, 120, np.random.default_rng(4))
        many = pie_power(PieModel(), 9, 30, 120, np.random.default_rng(4))
        again = pie_power(PieModel(), 3, 30, 120, np.random.default_rng(4))
    se = np.sqrt((few["power"] * (1 - few["power"]) + many["power"] * (1 - many["power"])) / 120)
    assert many["power"] - few["power"] > 3 * se, (few, many)
    assert again == few


def test_sizing_is_reproducible_by_seed_and_cells_do_not_depend_on_the_grid():
    req = SizingRequest(readers=(3, 5), cases=(20, 40), analyses=("pie",), n_sim=30, seed=3)
    a, b = size_study(req), size_study(req)
    assert a["grid"] == b["grid"]
    alone = size_study(SizingRequest(readers=(5,), cases=(40,), analyses=("pie",), n_sim=30, seed=3))
    assert alone["grid"][0] == [g for g in a["grid"] if (g["readers"], g["cases"]) == (5, 40)][0]
    other = size_study(SizingRequest(readers=(3, 5), cases=(20, 40), analyses=("pie",), n_sim=30, seed=4))
    assert other["grid"] != a["grid"]


def test_smallest_design_has_enough_power_and_the_fewest_readings():
    rows = [
        {"readers": 3, "cases": 80, "readings": 240, "power": 0.82},
        {"readers": 6, "cases": 40, "readings": 240, "power": 0.85},
        {"readers": 4, "cases": 40, "readings": 160, "power": 0.79},
        {"readers": 9, "cases": 80, "readings": 720, "power": 0.99},
    ]
    assert smallest(rows, 0.8) == rows[0]
    assert smallest(rows, 0.995) is None


def test_mrmc_auc_power_grows_with_readers_and_one_reader_is_not_simulated():
    req = SizingRequest(readers=(1, 3, 8), cases=(60,), analyses=("mrmc_auc",), n_sim=60, seed=1)
    grid = size_study(req)["grid"]
    assert grid[0]["power"] is None and "at least 2 readers" in grid[0]["note"]
    assert grid[2]["power"] > grid[1]["power"]
