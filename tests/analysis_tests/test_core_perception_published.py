"""The published effect: planted-effect calibration at small scale, separation, singular fits, Holm, rounding.

The calibration test runs the page's own code (calibration.estimates -> odds_ratio.ordinal_fit) on seeded
studies drawn from the reader model with a known effect. Under the null the published p may reject, over
all questions, at most as often as the upper end of the 99% binomial band around 5% allows, and its CI must
cover the truth in at least 93% of all the tests (each question: at least the lower end of that band
around 95%), also when readers differ in their PIE effect (reader SD 1 on the latent scale). The test is
not conservative (type-I error near 5%, bench/perception_calibration.py), so a per-question 93% at a few
dozen studies would fail by chance; bench/perception_calibration.py runs the same check with 1000 studies
per cell at the paper's sizes.
"""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from analysis.core.perception.calibration import binomial_band, calibrate, null_model
from analysis.core.perception.clustered import OrdinalFit, answer_scores, fit_ordinal, wald
from analysis.core.perception.compute import compute_perception
from analysis.core.perception.data import prepare
from analysis.core.perception.mixed_reml import fit_crossed_intercepts
from analysis.core.perception.odds_ratio import ordinal_fit
from analysis.core.perception.ordinal import design, fit_statsmodels, negloglik
from analysis.core.perception.simulate import ReaderModel, simulated_tidy
from analysis.core.perception.text import fmt_num
from tests.analysis_tests.perception_data import fixed_tidy

REPS = 200
DESIGN = ("forms", 4, 24)  # 4 readers, each reading their own 24 cases (12 PIEs): the default design, small


@pytest.mark.parametrize("slope_sd", [0.0, 1.0])
def test_published_p_keeps_its_type_i_error_and_its_ci_covers_the_truth_under_the_null(slope_sd):
    model = replace(null_model(ReaderModel()), reader_slope_sd=slope_sd)
    table = calibrate(DESIGN, model, range(REPS), methods=("odds_ratio_twoway",))
    _, upper = binomial_band(REPS * 3)  # three questions: 600 tests at 5% each
    _, upper_one = binomial_band(REPS)
    assert table["failed"].sum() == 0
    assert table["rejected"].mean() <= upper
    assert table["covered"].mean() >= 0.93
    assert (table["covered"] >= 1 - upper_one).all()


def test_case_clustered_ci_alone_under_covers_when_readers_differ_which_is_why_it_is_not_published():
    model = replace(null_model(ReaderModel()), reader_slope_sd=1.0)
    table = calibrate(DESIGN, model, range(60), methods=("odds_ratio_case",))  # a gross failure: 60 are enough
    assert table["covered"].mean() < 0.90


def test_cluster_scores_are_the_per_answer_gradient_and_the_case_se_matches_statsmodels():
    inp = prepare(fixed_tidy(seed=3, n_readers=3, n_cases=30))
    rows = inp.of("quality")
    codes, x, _, levels = design(rows)
    fit = fit_ordinal(codes, x, len(levels))
    grad = negloglik(fit.params, codes, x, np.ones(len(codes)), len(levels))[1]
    np.testing.assert_allclose(answer_scores(fit.params, codes, x, len(levels)).sum(0), -grad, atol=1e-9)
    cases = pd.factorize(rows["case"])[0]
    ref, _ = fit_statsmodels(codes, x, cluster=cases)
    assert fit.params[0] == pytest.approx(ref.params[0], abs=1e-4)
    w = wald(fit, rows["reader"].to_numpy(), cases)
    # statsmodels adds (N - 1) / (N - K) to the same G / (G - 1) sandwich.
    n, k = len(codes), len(fit.params)
    assert w["se_case"] * np.sqrt((n - 1) / (n - k)) == pytest.approx(ref.bse[0], rel=1e-3)
    # The two-way variance is the CGM sum of the case, reader and answer sandwiches, not floored at the case
    # one (a floor made the t(R - 1) test conservative); t with readers - 1 = 2 df.
    bread = np.linalg.inv(fit.hessian)
    s = answer_scores(fit.params, codes, x, len(levels))

    def sandwich(groups):
        sums = pd.DataFrame(s).groupby(np.asarray(groups)).sum().to_numpy()
        g = len(sums)
        return (bread @ (sums.T @ sums) @ bread)[0, 0] * g / (g - 1)

    two_way = sandwich(cases) + sandwich(rows["reader"]) - sandwich(np.arange(len(codes)))
    assert two_way > 0 and w["se"] == pytest.approx(np.sqrt(two_way), rel=1e-9) and w["df"] == 2
    assert w["ci_high"] == pytest.approx(np.exp(w["log_or"] + 4.302652729911275 * w["se"]), rel=1e-9)


def test_a_negative_two_way_variance_falls_back_to_the_larger_one_way_variance():
    # 3 readers x 3 cases, one coefficient, identity Hessian. Scores summing to ~0 in every reader and every
    # case make M_case + M_reader - M_answer negative; reader A sums to 2e, cases 0 and 1 to e each.
    e = 0.1
    grid = np.array([[1 + e, -1 + e, 0], [-1, 0, 1], [0, 1, -1]])
    readers, cases = np.repeat(["A", "B", "C"], 3), np.tile([0, 1, 2], 3)
    fit = OrdinalFit(params=np.array([0.5]), hessian=np.eye(1), scores=grid.reshape(-1, 1), converged=True)
    w = wald(fit, readers, cases)
    v_reader, v_case = (2 * e) ** 2 * 3 / 2, 2 * e**2 * 3 / 2  # squared sums times G / (G - 1) = 3 / 2
    assert v_reader + v_case - (grid**2).sum() * 9 / 8 < 0
    assert w["se"] == pytest.approx(np.sqrt(v_reader)) and w["se_case"] == pytest.approx(np.sqrt(v_case))
    assert w["df"] == 2


def test_separation_is_not_estimable_and_leaves_the_other_questions_holm_p_alone():
    tidy = simulated_tidy(4, 40, seed=2)
    agree = tidy["question"] == "agree_label"
    separated = tidy.copy()
    separated.loc[agree & (separated["is_pie"] == 1), "value_numeric"] = 1  # every PIE answer is "yes"
    other = tidy.copy()
    other.loc[agree & (other["is_pie"] == 1), "value_numeric"] = 0  # every PIE answer is "no"
    a = compute_perception(separated, stage="fast", n_boot=50, figures=False).tables["published"]
    b = compute_perception(other, stage="fast", n_boot=50, figures=False).tables["published"]
    for t in (a, b):
        row = t.set_index("question").loc["agree_label"]
        assert row["note"].startswith("not estimable: separation") and np.isnan(row["estimate"])
    pd.testing.assert_series_equal(a["p_holm"], b["p_holm"])
    expected = multipletests([*a["p"].iloc[1:], 1.0], method="holm")[1][:2]
    np.testing.assert_allclose(a["p_holm"].iloc[1:], expected)
    sentences = compute_perception(separated, stage="fast", n_boot=50, figures=False).sentences
    assert sentences[0].endswith("not estimable: separation (every PIE answer is 1).")


def test_a_reader_who_gave_one_answer_throughout_is_left_out_and_named():
    tidy = simulated_tidy(4, 30, seed=4, questions=("agree_label",))
    tidy.loc[tidy["reader"] == "R02", "value_numeric"] = 1
    row = ordinal_fit(prepare(tidy), prepare(tidy).questions[0])
    assert "R02" in row["warnings"] and np.isfinite(row["odds_ratio"]) and row["_readers"] == ["R01", "R03", "R04"]


def test_identical_answers_from_every_reader_no_longer_make_the_reml_system_singular():
    """Issue 18: the case variance ran off unbounded until RX'RX was singular (LinAlgError)."""
    rng = np.random.default_rng(0)
    cases, readers = np.repeat(np.arange(20), 3), np.tile(np.arange(3), 20)
    y = rng.integers(1, 6, 20).astype(float)[cases]
    X = np.column_stack([np.ones(len(y)), (cases % 2).astype(float)])
    fit = fit_crossed_intercepts(y, X, {"reader": readers, "case": cases})
    assert np.all(np.isfinite(fit.beta)) and fit.scale < 1e-5 and fit.variances["case"] > 0.1


def test_a_partly_read_study_gives_every_table_and_sentence():
    """Issue 18: reader 1 read 5 cases, the others all 40 (a study being read); nothing may raise."""
    tidy = simulated_tidy(4, 40, seed=7)
    tidy = tidy[(tidy["reader"] != "R01") | (tidy["case_id"].isin([0, 1, 2, 30, 31]))]
    result = compute_perception(tidy, stage="full", n_boot=50, n_boot_ordinal=20, figures=False)
    assert np.isfinite(result.tables["published"]["estimate"]).all()
    assert len(result.sentences) == 3 and not any("not estimable" in s for s in result.sentences)


@pytest.mark.parametrize(
    "value, sig, text",
    [(2.15, 3, "2.15"), (2.15, 2, "2.2"), (3.85, 2, "3.9"), (0.12345, 3, "0.123"), (9.995, 3, "10.0"),
     (3e-7, 3, "3.00E-7"), (1647220.82, 3, "1.65E+6"), (12.25, 3, "12.3"), (0.0, 3, "0"), (np.nan, 3, "—")],
)  # fmt: skip
def test_numbers_are_rounded_half_up_on_their_decimal_value(value, sig, text):
    assert fmt_num(value, sig) == text


def test_one_reader_gets_the_case_clustered_interval_and_says_so():
    inp = prepare(simulated_tidy(1, 40, seed=1, questions=("quality",)))
    row = ordinal_fit(inp, inp.questions[0])
    assert np.isfinite(row["odds_ratio"])
    assert (row["ci_low"], row["ci_high"]) == (row["ci_low_case"], row["ci_high_case"])
    assert "one reader" in row["warnings"]
