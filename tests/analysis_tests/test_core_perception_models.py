"""Reader-aware models, agreement and degenerate input, against statsmodels/sklearn on fixed data."""

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime
from sklearn.metrics import cohen_kappa_score
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.regression.mixed_linear_model import MixedLM

from analysis.core.perception.agreement import inter_reader, intra_reader, reader_bias
from analysis.core.perception.compute import compute_perception
from analysis.core.perception.data import prepare
from analysis.core.perception.mixed_models import mixed_linear
from analysis.core.perception.ordinal import design, fit_weighted, negloglik
from tests.analysis_tests.perception_data import fixed_tidy, tidy_from

# Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]  # fmt: skip


def test_weighted_ordinal_solver_reproduces_statsmodels_ordered_model():
    rows = prepare(fixed_tidy(seed=1, n_readers=4, n_cases=30)).of("quality")
    codes, x, _, levels = design(rows)
    reference = OrderedModel(codes, x, distr="logit").fit(method="bfgs", disp=False, maxiter=1000)
    start = np.zeros(x.shape[1] + len(levels) - 1)
    ours = fit_weighted(codes, x, np.ones(len(codes)), len(levels), start)
    assert ours == pytest.approx(np.asarray(reference.params), abs=2e-4)


def test_ordinal_gradient_is_the_derivative_of_the_likelihood_and_weights_act_as_copies():
    rows = prepare(fixed_tidy(seed=2, n_readers=2, n_cases=16)).of("difficulty")
    codes, x, _, levels = design(rows)
    w = np.random.default_rng(0).integers(0, 3, len(codes)).astype(float)
    p = np.random.default_rng(1).normal(0, 0.3, x.shape[1] + len(levels) - 1)
    numeric = approx_fprime(p, lambda v: negloglik(v, codes, x, w, len(levels))[0], 1e-7)
    assert negloglik(p, codes, x, w, len(levels))[1] == pytest.approx(numeric, rel=1e-4, abs=1e-4)
    copies = np.repeat(np.arange(len(codes)), w.astype(int))
    assert negloglik(p, codes[copies], x[copies], np.ones(len(copies)), len(levels))[0] == pytest.approx(
        negloglik(p, codes, x, w, len(levels))[0]
    )


def test_mixed_linear_without_crossing_equals_a_reader_random_intercept_model():
    """Every case read once: our one-group variance-component fit must equal MixedLM grouped by reader."""
    tidy = fixed_tidy(seed=4, n_readers=4, n_cases=40)
    reader = tidy["reader"].str[1:].astype(int)
    tidy = tidy[((tidy["case_id"] % 4) == reader) & (tidy["question"] == "quality")].copy()  # one reader per case
    tidy["value_numeric"] = tidy["value_numeric"] + 2 * reader[tidy.index]  # planted reader offsets
    tidy["value_numeric"] = tidy["value_numeric"].astype(float)
    tidy["question_scale"] = 12  # offsets up to 6 on a 1-5 scale: declared wider, as the validator requires
    inp = prepare(tidy)
    ours = mixed_linear(inp, next(q for q in inp.questions if q.key == "quality"))
    rows = inp.of("quality")
    ref = MixedLM(rows["y"].to_numpy(float), np.column_stack([np.ones(len(rows)), rows["is_pie"].to_numpy(float)]),
                  groups=rows["reader"].to_numpy()).fit(reml=True)  # fmt: skip
    assert ours["estimate"] == pytest.approx(ref.fe_params[1], abs=1e-4)
    assert ours["var_reader"] == pytest.approx(float(np.asarray(ref.cov_re)[0, 0]), rel=1e-2, abs=1e-4)
    assert ours["note"].startswith("case variance not estimable")


def test_fleiss_kappa_reproduces_the_published_worked_example():
    items = []
    for case, counts in enumerate(FLEISS_TABLE):
        ratings = [v + 1 for v, k in enumerate(counts) for _ in range(k)]
        items += [(f"R{r:02d}", case, case % 2 == 0, value) for r, value in enumerate(ratings)]
    table = inter_reader(prepare(tidy_from({"quality": items}))).iloc[0]
    assert table["fleiss_kappa"] == pytest.approx(0.210, abs=5e-4)
    assert table["n_cases_fleiss"] == 10 and table["n_readers_fleiss"] == 14


def test_perfect_agreement_gives_alpha_one_and_zero_bias():
    items = [(r, c, c < 3, 1 + c % 5) for r in ("A", "B", "C") for c in range(6)]
    inp = prepare(tidy_from({"quality": items}))
    assert inter_reader(inp).iloc[0]["alpha"] == pytest.approx(1.0)
    assert np.allclose(reader_bias(inp)["bias"], 0)


def test_reader_bias_is_the_mean_offset_from_the_case_consensus():
    items = [(r, c, c < 2, 2 + c % 2 + (1 if r == "A" else 0)) for r in ("A", "B") for c in range(4)]
    bias = reader_bias(prepare(tidy_from({"quality": items}))).set_index("reader")["bias"]
    assert bias["A"] == pytest.approx(0.5) and bias["B"] == pytest.approx(-0.5)


def test_intra_reader_kappa_pairs_hidden_repeats_with_the_original_answer():
    first = [1, 2, 3, 4, 5, 3, 2]
    again = [1, 2, 4, 4, 5, 2, 2]
    tidy = tidy_from({"quality": [("R1", c, c < 3, v) for c, v in enumerate(first)]})
    repeats = tidy_from({"quality": [("R1", 100 + c, c < 3, v) for c, v in enumerate(again)]})
    repeats["repeat_of_case_id"] = range(len(again))
    table = intra_reader(prepare(pd.concat([tidy, repeats]))).iloc[0]
    assert table["kappa"] == pytest.approx(cohen_kappa_score(first, again, labels=[1, 2, 3, 4, 5], weights="quadratic"))
    assert table["exact_agreement_percent"] == pytest.approx(100 * 5 / 7)
    assert table["n_pairs"] == 7


@pytest.mark.parametrize(
    "case, expected",
    [
        ("nobody answered quality", "nobody answered"),
        ("no PIE answers", "only one group"),
        ("one reader", "reader(s)"),
        ("identical answers", "every answer is"),
    ],
)
def test_degenerate_input_gives_not_estimable_entries_instead_of_numbers(case, expected):
    tidy = fixed_tidy(seed=6)
    if case == "nobody answered quality":
        tidy.loc[tidy["question"] == "quality", "value_numeric"] = np.nan
    elif case == "no PIE answers":
        tidy = tidy[tidy["is_pie"] == 0]
    elif case == "one reader":
        tidy = tidy[tidy["reader"] == "R0"]
    else:
        tidy["value_numeric"] = 1
    result = compute_perception(tidy, stage="fast", n_boot=50, figures=True)
    lmm = result.tables["mixed_linear"].set_index("question")
    assert expected in lmm.loc["quality", "note"] and lmm.loc["quality", "note"].startswith("not estimable")
    assert pd.isna(lmm.loc["quality"].get("estimate", np.nan))
    assert result.tables["agreement_intra"]["note"].str.startswith("not estimable").all()  # no repeats
    if case != "one reader":  # one reader still has a (case-level) odds ratio to report
        assert any("not estimable" in s for s in result.sentences)
    assert "not estimable" in str(result.summary["tables"])


def test_no_anchor_cases_gives_not_estimable_agreement():
    tidy = fixed_tidy(seed=7, n_readers=3, n_cases=12)
    tidy = tidy[(tidy["case_id"] % 3) == tidy["reader"].str[1:].astype(int)]
    table = inter_reader(prepare(tidy))
    assert table["note"].str.startswith("not estimable: no case was read by two or more readers").all()
