"""Strict input: every bad tidy table of issue 18 is refused with its row and column, never a traceback or a
silently changed number; identical duplicates are dropped and counted; any string case id works."""

import io

import numpy as np
import pandas as pd
import pytest

from analysis.core.perception.checks import PerceptionInputError, read_tidy_csv
from analysis.core.perception.compute import compute_perception
from analysis.core.perception.data import prepare
from analysis.core.perception.paper import descriptive_table, distribution_table
from tests.analysis_tests.perception_data import tidy_from

HEADER = "reader,case_id,is_pie,question,question_kind,question_scale,value_numeric,repeat_of_case_id\n"
GOOD = [
    "R1,a,1,quality,likert,5,2,",
    "R1,b,0,quality,likert,5,4,",
    "R2,a,1,quality,likert,5,1,",
    "R2,b,0,quality,likert,5,5,",
]


def csv(*lines: str) -> pd.DataFrame:
    return read_tidy_csv(io.StringIO(HEADER + "\n".join(lines) + "\n"))


def refused(frame: pd.DataFrame, *parts: str, questions=None) -> str:
    with pytest.raises(PerceptionInputError) as err:
        prepare(frame, questions)
    for part in parts:
        assert part in str(err.value)
    return str(err.value)


@pytest.mark.parametrize("value", ["0", "6", "2.5", "9"])
def test_likert_answer_outside_the_declared_scale_is_refused_naming_row_and_column(value):
    refused(csv(*GOOD, f"R3,a,1,quality,likert,5,{value},"), "Row 5", "'value_numeric'", f"'{value}'", "1 to 5")


def test_likert_nine_on_a_study_declared_five_point_scale_is_refused_even_without_a_scale_column():
    tidy = tidy_from({"quality": [("R1", 1, True, 2), ("R1", 2, False, 9)]}).drop(columns="question_scale")
    declared = [{"key": "quality", "text": "Quality", "kind": "likert", "scale": 5}]
    refused(tidy, "Row 2", "'9'", "1 to 5", questions=declared)


def test_yes_no_answer_two_is_refused():
    tidy = tidy_from({"agree_label": [("R1", 1, True, 1), ("R1", 2, False, 2)]})
    refused(tidy, "Row 2", "'value_numeric'", "0 (no) or 1 (yes)")


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity"])
def test_a_non_finite_answer_is_refused(value):
    refused(csv(*GOOD, f"R3,b,0,quality,likert,5,{value},"), "Row 5", "not a finite number")


def test_an_answer_that_is_not_a_number_is_refused():
    refused(csv(*GOOD, "R3,b,0,quality,likert,5,good,"), "Row 5", "'good' is not a number")


def test_an_inf_answer_never_reaches_the_distribution_table_as_an_overflow():
    tidy = tidy_from({"quality": [("R1", 1, True, 2), ("R1", 2, False, np.inf)]}).drop(columns="question_scale")
    refused(tidy, "Row 2", "not a finite number")


@pytest.mark.parametrize("text", ["", "\n"])
def test_an_empty_file_is_an_error(text):
    with pytest.raises(PerceptionInputError, match="empty"):
        read_tidy_csv(io.StringIO(text))


def test_a_header_only_file_is_an_error():
    with pytest.raises(PerceptionInputError, match="no rows"):
        prepare(csv())


@pytest.mark.parametrize("column", ["is_pie", "reader", "case_id"])
def test_a_blank_pie_flag_reader_or_case_is_refused_naming_row_and_column(column):
    lines = list(GOOD)
    cells = lines[2].split(",")
    cells[["reader", "case_id", "is_pie"].index(column)] = ""
    lines[2] = ",".join(cells)
    refused(csv(*lines), "Row 3", f"column '{column}'", "blank")


def test_a_case_with_conflicting_pie_flags_is_refused():
    refused(csv(*GOOD, "R3,a,0,quality,likert,5,3,"), "Rows 1, 3, 5", "case 'a' is marked both PIE and non-PIE")


def test_conflicting_duplicate_answers_are_refused():
    refused(csv(*GOOD, "R1,a,1,quality,likert,5,3,"), "Rows 1, 5", "more than once with different values")


def test_identical_duplicates_are_dropped_and_counted_without_changing_a_number():
    once = prepare(csv(*GOOD))
    twice = prepare(csv(*GOOD, GOOD[0], GOOD[0]))
    assert twice.duplicates_dropped == 2 and once.duplicates_dropped == 0
    pd.testing.assert_frame_equal(descriptive_table(once), descriptive_table(twice))


def test_string_case_ids_with_hidden_repeats_are_accepted_as_written():
    inp = prepare(csv(*GOOD, "R1,a-rep,1,quality,likert,5,3,a", "R2,b-rep,0,quality,likert,5,5,b"))
    assert sorted(inp.answers["case"].unique()) == ["a", "b"]
    assert inp.repeats[["reader", "case", "first", "repeat"]].values.tolist() == [["R1", "a", 2.0, 3.0],
                                                                                  ["R2", "b", 5.0, 5.0]]  # fmt: skip


def test_numeric_ids_read_as_floats_match_their_integer_repeats():
    tidy = tidy_from({"quality": [("R1", 1, True, 2), ("R1", 2, False, 4), ("R1", 3, True, 3)]})
    tidy["repeat_of_case_id"] = [np.nan, np.nan, 1.0]
    tidy["case_id"] = tidy["case_id"].astype(float)
    inp = prepare(tidy)
    assert inp.answers["case"].tolist() == ["1", "2"]
    assert inp.repeats[["case", "first", "repeat"]].values.tolist() == [["1", 2.0, 3.0]]


def test_a_question_with_two_kinds_is_refused():
    refused(csv(*GOOD, "R3,b,0,quality,yes_no,,1,"), "Row 5", "'question_kind'", "two kinds")


def test_unanswered_rows_are_left_out_not_refused():
    inp = prepare(csv(*GOOD, "R3,b,0,quality,likert,5,,"))
    assert len(inp.answers) == 4


def test_a_choice_question_with_text_answers_is_skipped_not_refused():
    inp = prepare(csv(*GOOD, "R1,a,1,modality,choice,,CT,"))
    assert inp.skipped_questions == {"modality": "choice answers are not analysed"}


def test_a_study_of_two_cases_gives_numbers_or_reasons_never_an_exception():
    tidy = tidy_from(
        {q: [("R1", 1, True, v), ("R1", 2, False, w), ("R2", 1, True, v), ("R2", 2, False, w)]
         for q, v, w in (("quality", 2, 4), ("difficulty", 4, 3), ("agree_label", 0, 1))}
    )  # fmt: skip
    result = compute_perception(tidy, stage="full", n_boot=50, n_boot_ordinal=20, figures=False)
    published = result.tables["published"]
    assert published["note"].str.startswith("not estimable").all()  # 1 case per group: separated or no spread
    assert len(result.sentences) == 3 and all("not estimable" in s for s in result.sentences)
    assert distribution_table(prepare(tidy))["count"].sum() == 12
