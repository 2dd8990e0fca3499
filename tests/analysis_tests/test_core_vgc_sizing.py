"""VGC analysis of perception ratings, and study sizing (power by simulation against a closed form)."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from analysis.core.perception.simulate import ReaderModel, simulated_tidy
from analysis.core.perception.sizing import SizingRequest, size_study, smallest
from analysis.core.perception.sizing_pie import (
    PieModel,
    balanced_pie_test,
    closed_form_power,
    layout,
    pie_power,
    reml_pie_test,
    simulate_pie,
)
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


def test_fast_pie_test_equals_the_reml_fit_of_the_mixed_model():
    r, c, pie = layout(4, 20)
    rng = np.random.default_rng(5)
    with threadpool_limits(1):
        for model in (PieModel(var_reader=0.3), PieModel(var_reader=0.0)):  # interior and reader boundary
            for _ in range(4):
                y = simulate_pie(model, r, c, pie, rng)
                fast = balanced_pie_test(y.reshape(4, 20), pie)
                assert fast == pytest.approx(reml_pie_test(y, r, c, pie), abs=1e-4)


def test_simulated_power_matches_the_closed_form_within_simulation_error():
    model = PieModel(effect=0.6, var_reader=0.2, var_case=0.5, var_residual=1.0)
    exact = closed_form_power(model, 4, 24)
    with threadpool_limits(1):
        sim = pie_power(model, 4, 24, 1000, np.random.default_rng(11))
    mc_se = np.sqrt(exact * (1 - exact) / 1000)
    assert 0.2 < exact < 0.8  # a case where power is informative
    assert abs(sim["power"] - exact) < 3 * mc_se, (sim, exact)


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
