"""Property tests (hypothesis): any tidy table, valid or not, ends in numbers or a PerceptionInputError that
names a row or the table, never another exception. Valid tables drawn here always give numbers."""

import io

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.core.perception.checks import PerceptionInputError, read_tidy_csv
from analysis.core.perception.compute import compute_perception
from analysis.core.perception.data import prepare

FEW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
QUESTIONS = {"agree": ("yes_no", 2), "quality": ("likert", 5)}
CELL = st.one_of(
    st.sampled_from(["", " ", "1", "0", "2", "5", "6", "2.5", "-1", "inf", "nan", "yes", "no", "x", "1e309", "3.0"]),
    st.text(max_size=4),
)


@st.composite
def valid_tables(draw) -> pd.DataFrame:
    n_readers = draw(st.integers(1, 4))
    n_cases = draw(st.integers(2, 10))
    pie = [draw(st.booleans()) for _ in range(n_cases)]
    ids = draw(st.lists(st.text("abc123-_", min_size=1, max_size=4), min_size=n_cases, max_size=n_cases, unique=True))
    rows = []
    for r in range(n_readers):
        for c in range(n_cases):
            if not draw(st.booleans()):
                continue  # this reader did not read this case
            for key, (kind, scale) in QUESTIONS.items():
                value = draw(
                    st.one_of(st.just(""), st.integers(0 if kind == "yes_no" else 1, scale - (kind == "yes_no")))
                )
                rows.append({"reader": f"reader {r}", "case_id": ids[c], "is_pie": int(pie[c]), "question": key,
                             "question_kind": kind, "question_scale": scale if kind == "likert" else "",
                             "value_numeric": value})  # fmt: skip
    columns = ["reader", "case_id", "is_pie", "question", "question_kind", "question_scale", "value_numeric"]
    return pd.DataFrame(rows, columns=columns)


@FEW
@given(table=valid_tables())
def test_a_valid_table_gives_numbers_or_reasons_never_an_exception(table):
    try:
        result = compute_perception(table, stage="fast", n_boot=20, figures=False)
    except PerceptionInputError as exc:
        assert "no rows" in str(exc)  # only the table where no reader read anything
        assert table.empty
        return
    published = result.tables["published"]
    assert len(published) == 2 and len(result.sentences) == 2
    for _, row in published.iterrows():
        assert np.isfinite(row["estimate"]) or str(row["note"]).startswith("not estimable")


@MANY
@given(table=valid_tables(), data=st.data())
def test_one_corrupted_cell_is_refused_naming_its_row_or_accepted_as_valid(table, data):
    if table.empty:
        return
    row = data.draw(st.integers(0, len(table) - 1))
    column = data.draw(st.sampled_from(["reader", "case_id", "is_pie", "value_numeric", "question_scale"]))
    table = table.astype(object)
    table.iat[row, table.columns.get_loc(column)] = data.draw(CELL)
    try:
        prepare(table)
    except PerceptionInputError as exc:
        assert str(exc).startswith(("Row", "The answer table"))


@MANY
@given(text=st.text(max_size=400))
def test_any_file_text_gives_a_table_or_an_input_error(text):
    try:
        table = read_tidy_csv(io.StringIO(text))
        prepare(table)
    except PerceptionInputError as exc:
        assert str(exc)
