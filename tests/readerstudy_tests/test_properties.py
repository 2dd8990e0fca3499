"""Property tests (hypothesis) of the reader study's parsers and validator: whatever comes in, the result is
either a clean value or the module's own clear error, never another exception (which would be a 500)."""

import contextlib
import csv
import io
import zipfile

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from readerstudy.models import Question
from readerstudy.services import MAX_TEXT, clean_value
from readerstudy.upload import MAX_CSV_BYTES, UploadError, _read_csv, candidates_from_upload

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
QUESTIONS = [
    Question(key="agree", text="Agree?", kind="yes_no"),
    Question(key="quality", text="Quality?", kind="likert", options=["Poor", "Fair", "Good", "Very good", "Excellent"]),
    Question(key="pick", text="Pick", kind="choice", options=["left", "right", "both"]),
    Question(key="comment", text="Comment", kind="text", required=False),
]


@BOUNDED
@given(
    question=st.sampled_from(QUESTIONS), raw=JSON | st.sampled_from(["yes", " NO ", "3", "+2", "5.0", "right", "\x00"])
)
@example(question=QUESTIONS[3], raw="a\x00b")
@example(question=QUESTIONS[1], raw=10**400)
def test_the_answer_validator_returns_a_stored_form_or_a_clear_error(question, raw):
    try:
        value = clean_value(question, raw)
    except ValueError as exc:
        assert str(exc) and len(str(exc)) < 2000
        return
    if question.kind == "yes_no":
        assert value in ("yes", "no")
    elif question.kind == "likert":
        assert type(value) is int and 1 <= value <= question.scale
    elif question.kind == "choice":
        assert value in question.options
    else:
        assert isinstance(value, str) and len(value) <= MAX_TEXT and "\x00" not in value
    assert clean_value(question, value) == value, "cleaning a stored value changes nothing"


CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@BOUNDED
@given(data=st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")))
@example(data=b'filename,shown_labels,is_pie\n"' + b"x" * 200_000 + b'",a,1\n')
@example(data=b'filename,shown_labels,is_pie\na.png,"unterminated\n')
@example(data=b"\x00\x00\x00")
def test_the_upload_csv_reader_returns_rows_or_an_upload_error(data):
    try:
        rows = _read_csv(data, "cases.csv")
    except UploadError as exc:
        assert exc.message
        return
    assert rows and all({"filename", "shown_labels", "is_pie"} <= set(r) for r in rows)


@BOUNDED
@given(
    rows=st.lists(st.tuples(CELL, CELL, st.sampled_from(["1", "0", "yes", "PIE", "x"]), CELL), min_size=1, max_size=8)
)
def test_upload_csv_cells_come_back_as_written(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["filename", "shown_labels", "is_pie", "hidden"])
    writer.writerows(rows)
    try:
        parsed = _read_csv(buffer.getvalue().encode(), "cases.csv")
    except UploadError:
        return  # e.g. a row that csv itself cannot read back
    assert [(r["filename"], r["shown_labels"], r["is_pie"], r["hidden"]) for r in parsed] == [
        tuple(c.strip() for c in row) for row in rows
    ]


def test_the_upload_csv_size_is_bounded():
    big = b"filename,shown_labels,is_pie\n" + b"a.png,x,1\n" * (MAX_CSV_BYTES // 10 + 1)
    with pytest.raises(UploadError, match="larger than"):
        _read_csv(big, "cases.csv")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(members=st.dictionaries(st.text(min_size=1, max_size=20), st.binary(max_size=200), max_size=4))
def test_any_zip_gives_candidates_or_an_upload_error(members, tmp_path_factory):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in members.items():
            # zipfile itself refuses some names (e.g. one that normalises to ""): those are not uploads.
            with contextlib.suppress(ValueError, UnicodeEncodeError, IndexError):
                zf.writestr(name, content)
    buffer.seek(0)
    workdir = tmp_path_factory.mktemp("up")
    try:
        candidates_from_upload(buffer, None, workdir)
    except UploadError as exc:
        assert exc.errors
