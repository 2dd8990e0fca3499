"""Hand-checked numbers for the paper-exact Figure 6 tables, the cluster-bootstrap effect sizes and the
Holm correction / sentence wording (issue 13: every statistic pinned by a stated answer)."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.core.perception.data import QuestionSpec, prepare
from analysis.core.perception.effects import DEFAULT_REPLICATES, _log_odds_ratio, _row, effect_sizes
from analysis.core.perception.paper import descriptive_table, distribution_table, paper_tests_table
from analysis.core.perception.text import fmt_p, holm, sentence
from tests.analysis_tests.perception_data import tidy_from

# Two readers x four cases (c1, c2 PIE; c3, c4 non-PIE). Quality: PIE answers 2, 3, 1, 2; non-PIE 4, 5, 3, 4.
QUALITY = [
    ("R1", 1, True, 2),
    ("R1", 2, True, 3),
    ("R2", 1, True, 1),
    ("R2", 2, True, 2),
    ("R1", 3, False, 4),
    ("R1", 4, False, 5),
    ("R2", 3, False, 3),
    ("R2", 4, False, 4),
]


def test_descriptive_table_known_answer():
    t = descriptive_table(prepare(tidy_from({"quality": QUALITY}))).set_index("group")
    assert list(t.reset_index().columns) == [
        "group",
        "question",
        "n",
        "mean",
        "sd",
        "median",
        "q1",
        "q3",
        "iqr",
        "note",
    ]
    # PIE [1, 2, 2, 3]: mean 2, sample variance 2/3; linear percentiles at positions 0.75 and 2.25.
    assert t.loc["PIE", ["n", "mean", "median", "q1", "q3", "iqr"]].tolist() == [4, 2.0, 2.0, 1.75, 2.25, 0.5]
    assert t.loc["PIE", "sd"] == pytest.approx(math.sqrt(2 / 3))
    assert t.loc["non-PIE", ["n", "mean", "median", "q1", "q3", "iqr"]].tolist() == [4, 4.0, 4.0, 3.75, 4.25, 0.5]
    assert t["note"].tolist() == ["", ""] and t["question"].tolist() == ["quality", "quality"]


def test_descriptive_table_with_one_or_no_answer_in_a_group():
    one = descriptive_table(prepare(tidy_from({"quality": [("R1", 1, True, 2), ("R1", 3, False, 4)]})))
    assert np.isnan(one["sd"]).all() and one["mean"].tolist() == [2.0, 4.0]
    assert one["note"].tolist() == ["not estimable: SD needs two answers"] * 2
    none = descriptive_table(prepare(tidy_from({"quality": [("R1", 3, False, 4), ("R2", 3, False, 5)]})))
    pie = none.set_index("group").loc["PIE"]
    assert pie["n"] == 0 and pie["note"] == "not estimable: no PIE answers" and pd.isna(pie["mean"])


def test_distribution_table_known_answer():
    d = distribution_table(prepare(tidy_from({"quality": QUALITY})))
    assert list(d.columns) == ["question", "group", "value", "count", "percent"]
    pie = d[d["group"] == "PIE"]
    assert pie["value"].tolist() == [1, 2, 3, 4, 5]
    assert pie["count"].tolist() == [1, 2, 1, 0, 0] and pie["percent"].tolist() == [25.0, 50.0, 25.0, 0.0, 0.0]
    assert d[d["group"] == "non-PIE"]["count"].tolist() == [0, 0, 1, 2, 1]
    empty = distribution_table(prepare(tidy_from({"quality": [("R1", 3, False, 4)]})))
    assert empty[empty["group"] == "PIE"]["percent"].isna().all()


def test_paper_tests_known_answer():
    t = paper_tests_table(prepare(tidy_from({"quality": QUALITY}))).iloc[0]
    assert (t["question"], t["n_pie"], t["n_non_pie"], t["note"]) == ("quality", 4, 4, "")
    # Welch: difference -2, SE sqrt(2/3/4 + 2/3/4) = sqrt(1/3), df 6.
    assert t["welch_t"] == pytest.approx(-2 / math.sqrt(1 / 3))
    assert t["welch_p"] == pytest.approx(0.013399964712331042, rel=1e-9)
    # Mann-Whitney: only the 3-vs-3 pair is not a PIE loss, a tie: U = 1/2; z = 7 / sqrt(16/12 * (9 - 18/56)).
    assert t["mwu_u"] == 0.5
    assert t["mwu_p"] == pytest.approx(0.03960870463975981, rel=1e-9)
    # Kruskal-Wallis: rank sums 10.5 and 25.5 -> H = 4.6875, tie-corrected / (1 - 18/504) = 4.8611.
    assert t["kw_h"] == pytest.approx(4.6875 / (1 - 18 / 504))
    assert t["kw_p"] == pytest.approx(0.027468640385681378, rel=1e-9)


@pytest.mark.parametrize(
    ("answers", "note"),
    [
        ([("R1", 1, True, 2), ("R1", 3, False, 4), ("R2", 3, False, 5)], "1 PIE answer(s); the tests need at least 2"),
        ([("R1", 1, True, 2), ("R2", 1, True, 4), ("R1", 3, False, 4)], "1 non-PIE answer(s); the tests need"),
        ([("R1", 1, True, 3), ("R2", 1, True, 3), ("R1", 3, False, 3), ("R2", 3, False, 3)], "every answer is 3"),
    ],
)
def test_paper_tests_say_why_they_cannot_be_computed(answers, note):
    t = paper_tests_table(prepare(tidy_from({"quality": answers}))).iloc[0]
    assert t["note"].startswith(f"not estimable: {note}")
    assert t[["welch_t", "welch_p", "mwu_u", "mwu_p", "kw_h", "kw_p"]].isna().all()


def test_paper_tests_with_two_answers_per_group_and_no_spread_within_groups():
    t = paper_tests_table(
        prepare(
            tidy_from({"quality": [("R1", 1, True, 1), ("R2", 1, True, 1), ("R1", 3, False, 2), ("R2", 3, False, 2)]})
        )
    )
    assert t["note"].tolist() == [""] and t["welch_t"].tolist() == [-np.inf]


# Two readers, one PIE and one non-PIE case: the bootstrap can only reweight readers (2, 0), (1, 1) or (0, 2).
TWO_READERS = [("R1", 1, True, 2), ("R1", 2, False, 4), ("R2", 1, True, 1), ("R2", 2, False, 5)]


def test_effect_sizes_known_answer_with_every_bootstrap_outcome():
    eff = effect_sizes(prepare(tidy_from({"quality": TWO_READERS})), n_boot=400, seed=1)
    assert list(eff.columns) == [
        "question", "effect", "estimate", "ci_low", "ci_high", "n_boot", "n_readers", "n_cases", "note"
    ]  # fmt: skip
    diff, cliff = eff.iloc[0], eff.iloc[1]
    # Means: (2, 0) -> 2 - 4, (1, 1) -> 1.5 - 4.5, (0, 2) -> 1 - 5; each extreme drawn with probability 1/4.
    assert (diff["effect"], diff["estimate"], diff["ci_low"], diff["ci_high"]) == ("difference_in_means", -3, -4, -2)
    # Every PIE answer is below every non-PIE answer, in every replicate.
    assert (cliff["effect"], cliff["estimate"], cliff["ci_low"], cliff["ci_high"]) == ("cliffs_delta", -1, -1, -1)
    assert eff[["n_boot", "n_readers", "n_cases"]].values.tolist() == [[400, 2, 2]] * 2
    assert eff["note"].tolist() == ["", ""] and eff["question"].tolist() == ["quality"] * 2


def test_cliffs_delta_counts_ties_as_neither():
    # PIE 2, 3; non-PIE 3, 1: pairs (2,3) -, (2,1) +, (3,3) tie, (3,1) + -> (2 - 1) / 4.
    rows = [("R1", 1, True, 2), ("R1", 2, True, 3), ("R1", 3, False, 3), ("R1", 4, False, 1)]
    eff = effect_sizes(prepare(tidy_from({"quality": rows})), n_boot=50).set_index("effect")
    assert eff.loc["cliffs_delta", "estimate"] == pytest.approx(0.25)
    assert eff.loc["difference_in_means", "estimate"] == pytest.approx(0.5)
    assert eff.loc["cliffs_delta", "note"] == "one reader: the CI covers case sampling only"


def test_odds_ratio_replicates_with_a_zero_cell_get_one_half_added_to_each_cell():
    rows = [("R1", 1, True, 1), ("R1", 2, False, 0), ("R2", 1, True, 0), ("R2", 2, False, 1)]
    eff = effect_sizes(prepare(tidy_from({"agree_label": rows})), n_boot=400, seed=2).set_index("effect")
    # Point: 1 yes 1 no in each group -> OR 1. Replicate (2, 0): PIE 2 yes 0 no, non-PIE 0 yes 2 no -> with
    # 1/2 added (2.5 / 0.5) / (0.5 / 2.5) = 25; (0, 2) gives 1/25.
    assert eff.loc["odds_ratio", ["estimate", "ci_low", "ci_high"]].tolist() == pytest.approx([1, 1 / 25, 25])
    assert eff.loc["difference_in_means", ["estimate", "ci_low", "ci_high"]].tolist() == pytest.approx([0, -1, 1])


def test_odds_ratio_known_answer():
    rows = [("R1", c, c < 4, v) for c, v in enumerate([1, 0, 0, 0, 1, 1, 1, 0])]
    eff = effect_sizes(prepare(tidy_from({"agree_label": rows})), n_boot=50).set_index("effect")
    assert eff.loc["odds_ratio", "estimate"] == pytest.approx((1 / 3) / (3 / 1))
    assert eff.loc["difference_in_means", "estimate"] == pytest.approx(0.25 - 0.75)


def test_effect_sizes_without_one_group_are_not_estimable():
    rows = [("R1", 3, False, 4), ("R2", 3, False, 5)]
    eff = effect_sizes(prepare(tidy_from({"quality": rows})), n_boot=10)
    assert eff["effect"].tolist() == ["difference_in_means", "cliffs_delta"]
    assert eff["note"].tolist() == ["not estimable: no PIE answers"] * 2 and eff["estimate"].isna().all()
    pie_only = effect_sizes(prepare(tidy_from({"agree_label": [("R1", 1, True, 1)]})), n_boot=10)
    assert pie_only["effect"].tolist() == ["difference_in_means", "odds_ratio"]
    assert pie_only["note"].tolist() == ["not estimable: no non-PIE answers"] * 2


def test_default_bootstrap_is_two_thousand_replicates():
    assert DEFAULT_REPLICATES == 2000
    eff = effect_sizes(prepare(tidy_from({"quality": TWO_READERS})))
    assert eff["n_boot"].tolist() == [2000, 2000] and eff["ci_low"].tolist() == [-4, -1]


def test_holm_known_answer_over_the_finite_p_values_only():
    t = pd.DataFrame({"q": list("abcd"), "p": [0.01, 0.04, np.nan, 0.03]})
    out = holm(t, "p", "p_holm")
    # sorted 0.01, 0.03, 0.04 -> x3, x2, x1 = 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
    assert out["p_holm"].tolist()[:2] == pytest.approx([0.03, 0.06]) and out["p_holm"].tolist()[3] == 0.06
    assert np.isnan(out["p_holm"][2]) and "p_holm" not in t
    assert holm(t[["q"]], "p", "p_holm")["p_holm"].isna().all()  # no p column: nothing to adjust


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0004, "p < 0.001"),
        (0.001, "p = 0.001"),
        (0.0126, "p = 0.013"),
        (None, "p not available"),
        (np.nan, "p not available"),
    ],
)
def test_p_values_are_written_with_three_decimals(p, text):
    assert fmt_p(p) == text


def test_sentences_known_wording():
    quality = QuestionSpec("quality", "How would you rate the image quality?", "likert", 5)
    effect = {"odds_ratio": 0.3, "ci_low": 0.1, "ci_high": 0.9, "p_holm": 0.0123, "label": "ordinal OR"}
    assert sentence(quality, {"PIE": 2.04, "non-PIE": 3.5}, effect, 3, 40) == (
        "PIEs were rated lower in quality (mean 2.0 vs 3.5; ordinal OR 0.300, unadjusted 95% CI 0.100-0.900; "
        "Holm-adjusted p = 0.012; 3 readers, 40 cases)."
    )
    agree = QuestionSpec("agree_label", "Do you fully agree with the label?", "yes_no", 2)
    up = {"odds_ratio": 2.5, "ci_low": 1.2, "ci_high": 5.0, "p_holm": 0.0004, "label": "OR"}
    assert sentence(agree, {"PIE": 0.8, "non-PIE": 0.625}, up, 2, 10, simulated=True) == (
        "PIEs were rated as having correct labels more often ('yes' 80% vs 62%; OR 2.50, unadjusted 95% CI 1.20-5.00; "
        "Holm-adjusted p < 0.001; 2 readers, 10 cases) (simulated readers)."
    )
    other = QuestionSpec("noise", "Is there noise?", "likert", 5)
    same = {"odds_ratio": 1.1, "ci_low": 0.5, "ci_high": 2.0, "label": "OR"}
    assert sentence(other, {"PIE": 3, "non-PIE": 3}, same, 2, 10).startswith(
        "No clear difference between PIEs and non-PIEs (Is there noise?) (mean 3.0 vs 3.0; OR 1.10, "
        "unadjusted 95% CI 0.500-2.00; "
        "Holm-adjusted p not available"
    )
    low = {"odds_ratio": 0.5, "ci_low": 0.2, "ci_high": 0.99, "p_holm": 0.04, "label": "OR"}
    assert sentence(other, {"PIE": 2, "non-PIE": 3}, low, 2, 10).startswith(
        "PIEs were rated lower on 'Is there noise?'"
    )
    assert sentence(quality, {}, {"note": "not estimable: one reader"}, 1, 4) == (
        "How would you rate the image quality?: not estimable: one reader."
    )
    assert sentence(quality, {}, {"odds_ratio": np.nan}, 1, 4).endswith(": not estimable: no model estimate.")


def test_one_reader_ci_comes_from_resampling_cases_within_each_group():
    # PIE cases 1 and 3, non-PIE 5 and 5: PIE mean 1, 2 or 3 with probability 1/4, 1/2, 1/4.
    rows = [("R1", 1, True, 1), ("R1", 2, True, 3), ("R1", 3, False, 5), ("R1", 4, False, 5)]
    eff = effect_sizes(prepare(tidy_from({"quality": rows})), n_boot=400, seed=3).set_index("effect")
    assert eff.loc["difference_in_means", ["estimate", "ci_low", "ci_high"]].tolist() == [-3, -4, -2]


def test_bootstrap_is_seeded_and_defaults_to_seed_zero():
    from tests.analysis_tests.perception_data import fixed_tidy

    inp = prepare(fixed_tidy(seed=2, n_readers=6, n_cases=30))
    first = effect_sizes(inp, n_boot=200)
    pd.testing.assert_frame_equal(first, effect_sizes(inp, n_boot=200, seed=0))
    other = effect_sizes(inp, n_boot=200, seed=1)
    assert not np.allclose(first["ci_low"].to_numpy(float), other["ci_low"].to_numpy(float), equal_nan=True)
    assert first["estimate"].tolist() == other["estimate"].tolist()


def test_replicates_without_answers_in_a_group_are_dropped_without_warnings():
    # R1 read only the PIE case, R2 only the non-PIE case: drawing one reader twice leaves a group empty.
    rows = [("R1", 1, True, 2), ("R2", 2, False, 4)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eff = effect_sizes(prepare(tidy_from({"quality": rows})), n_boot=200, seed=4)
    assert eff[["estimate", "ci_low", "ci_high"]].values.tolist() == [[-2, -2, -2], [-1, -1, -1]]


def test_zero_cell_odds_ratio_note_is_worded_in_full():
    rows = [("R1", c, c < 2, 1 if c < 2 else c % 2) for c in range(4)]
    eff = effect_sizes(prepare(tidy_from({"agree_label": rows})), n_boot=20).set_index("effect")
    assert (
        eff.loc["odds_ratio", "note"] == "not estimable: a zero cell in the 2x2 table (e.g. every PIE answer was 'yes')"
    )


def test_half_is_added_only_to_replicates_with_a_zero_cell():
    # counts per value [no, yes]: replicate 0 has no zero cell (OR (2/1)/(1/2) = 4), replicate 1 has one
    # (PIE: 3 yes, 0 no -> (3.5/0.5) / (1.5/1.5) = 7).
    h = {"PIE": np.array([[1.0, 2.0], [0.0, 3.0]]), "non-PIE": np.array([[2.0, 1.0], [1.0, 1.0]])}
    np.testing.assert_allclose(_log_odds_ratio(h), np.log([4.0, 7.0]))


def test_percentile_interval_of_the_finite_replicates():
    q = QuestionSpec("quality", "Quality?", "likert", 5)
    reps = np.concatenate([np.arange(1001.0), [np.nan, np.inf]])
    row = _row(q, "difference_in_means", 0.5, reps, "")
    assert (row["ci_low"], row["ci_high"]) == (25.0, 975.0)
    assert list(row) == ["question", "effect", "estimate", "ci_low", "ci_high", "note"]
    assert (row["question"], row["effect"], row["estimate"], row["note"]) == ("quality", "difference_in_means", 0.5, "")
    empty = _row(q, "odds_ratio", np.nan, np.array([np.nan]), "x")
    assert np.isnan(empty["ci_low"]) and np.isnan(empty["ci_high"])


def test_descriptive_median_and_sd_known_answers_for_small_groups():
    rows = [("R1", 1, True, 1), ("R1", 2, True, 2), ("R2", 1, True, 4), ("R2", 2, True, 5)]
    rows += [("R1", 3, False, 1), ("R1", 4, False, 3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = descriptive_table(prepare(tidy_from({"quality": rows}))).set_index("group")
        one = descriptive_table(prepare(tidy_from({"quality": rows[:1] + rows[4:5]})))
    assert t.loc["PIE", ["median", "q1", "q3"]].tolist() == [3.0, 1.75, 4.25]  # [1, 2, 4, 5]
    assert t.loc["non-PIE", "sd"] == pytest.approx(math.sqrt(2))  # [1, 3]: two answers are enough
    assert np.isnan(one["sd"]).all()


def test_distribution_table_names_the_question_and_keeps_its_columns_when_empty():
    d = distribution_table(
        prepare(tidy_from({"quality": QUALITY, "agree_label": [("R1", 1, True, 1), ("R1", 3, False, 0)]}))
    )
    assert d["question"].tolist() == ["quality"] * 10 + ["agree_label"] * 4
    tidy = tidy_from({"quality": QUALITY}).assign(question_kind="text")  # nothing to analyse
    assert list(distribution_table(prepare(tidy)).columns) == ["question", "group", "value", "count", "percent"]


def test_every_question_gets_its_rows_even_after_one_that_is_not_estimable():
    no_pie = [("R1", 3, False, 4), ("R2", 3, False, 5)]
    tidy = tidy_from({"difficulty": TWO_READERS, "quality": no_pie, "other": TWO_READERS})
    eff = effect_sizes(prepare(tidy), n_boot=50)
    assert eff["question"].tolist() == ["difficulty"] * 2 + ["quality"] * 2 + ["other"] * 2
    assert eff["note"].tolist() == ["", ""] + ["not estimable: no PIE answers"] * 2 + ["", ""]


def test_odds_ratio_rows_name_their_question_and_carry_an_empty_note():
    zero = [("R1", c, c < 2, 1 if c < 2 else c % 2) for c in range(4)]
    assert (
        effect_sizes(prepare(tidy_from({"agree_label": zero})), n_boot=20)["question"].tolist() == ["agree_label"] * 2
    )
    rows = [("R1", 1, True, 1), ("R1", 2, False, 0), ("R2", 1, True, 0), ("R2", 2, False, 1)]
    eff = effect_sizes(prepare(tidy_from({"agree_label": rows})), n_boot=20)
    assert eff["note"].tolist() == ["", ""]


def test_holm_ignores_infinite_and_unreadable_p_values():
    t = pd.DataFrame({"p": [0.01, np.inf, "n/a", 0.02]})
    out = holm(t, "p", "p_holm")["p_holm"].tolist()
    assert out[0] == pytest.approx(0.02) and out[3] == pytest.approx(0.02) and np.isnan(out[1:3]).all()


def test_sentence_boundaries_and_notes():
    agree = QuestionSpec("agree_label", "Do you fully agree with the label?", "yes_no", 2)
    means = {"PIE": 0.5, "non-PIE": 0.5}
    touching = {"odds_ratio": 1.5, "ci_low": 1.0, "ci_high": 2.0, "label": "OR"}
    assert sentence(agree, means, touching, 2, 4).startswith(
        "No clear difference between PIEs and non-PIEs (agree label) ("
    )
    below = {"odds_ratio": 0.7, "ci_low": 0.5, "ci_high": 1.0, "label": "OR"}
    assert sentence(agree, means, below, 2, 4).startswith("No clear difference between PIEs and non-PIEs")
    wide = {"odds_ratio": 0.9, "ci_low": 0.5, "ci_high": 1.5, "label": "OR"}
    assert sentence(agree, means, wide, 2, 4).startswith("No clear difference between PIEs and non-PIEs")
    noted = {"odds_ratio": 2.0, "ci_low": 1.5, "ci_high": 3.0, "label": "OR", "note": "not estimable: one reader"}
    assert sentence(agree, means, noted, 1, 4) == "Do you fully agree with the label?: not estimable: one reader."
    assert sentence(agree, means, {}, 1, 4) == "Do you fully agree with the label?: not estimable: no model estimate."


def test_a_pilot_with_few_readers_says_its_no_clear_difference_is_not_evidence_of_no_effect():
    quality = QuestionSpec("quality", "How would you rate the image quality?", "likert", 5)
    means = {"PIE": 2.9, "non-PIE": 3.1}
    unclear = {"odds_ratio": 0.6, "ci_low": 0.1, "ci_high": 3.6, "p_holm": 0.4, "label": "ordinal OR"}
    note = "; with 3 readers the test (Student t with 2 df) has little power, so this is no evidence that"
    assert note in sentence(quality, means, unclear, 3, 60)
    assert sentence(quality, means, unclear, 3, 60).endswith("rated alike.")
    assert "little power" not in sentence(quality, means, unclear, 4, 60)
    assert "little power" not in sentence(quality, means, unclear, 1, 60)  # one reader: case sampling only
    clear = {**unclear, "ci_high": 0.9, "p_holm": 0.01}
    assert "little power" not in sentence(quality, means, clear, 3, 60)
    two = sentence(quality, means, unclear, 2, 60, simulated=True)
    assert two.endswith(
        "60 cases) (simulated readers); with 2 readers the test (Student t with 1 df) has little "
        "power, so this is no evidence that PIEs and non-PIEs are rated alike."
    )
