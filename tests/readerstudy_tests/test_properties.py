"""Property tests (hypothesis) of the reader study's parsers and validator: whatever comes in, the result is
either a clean value or the module's own clear error, never another exception (which would be a 500)."""

import contextlib
import csv
import io
import json
import zipfile

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from readerstudy.answering import MAX_TEXT, clean_value
from readerstudy.models import Question
from readerstudy.upload import MAX_CSV_BYTES, UploadError, _read_csv, candidates_from_upload
from readerstudy.via import PAPER_QUESTIONS, VIA_COLUMNS, read_pie_mapping, read_via_csv
from readerstudy.via_import import ViaImportError, study_import_via

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


# --- the VIA survey parser (readerstudy.via) and its import (readerstudy.via_import) ----------------------
# The parser's contract: problems are collected in the list it is given, never raised; the import raises
# ViaImportError (every problem by file and row) and nothing else, whatever the files hold.

VIA_HEADER = ",".join(VIA_COLUMNS)
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
VIA_LIKE = st.lists(st.lists(CELL, max_size=8), max_size=6).map(
    lambda rows: "\n".join([VIA_HEADER, *(",".join(r) for r in rows)])
)


@BOUNDED
@given(text=ANY_TEXT | VIA_LIKE)
@example(text=f'{VIA_HEADER}\na.png,1,"{"x" * 200_000}",0,,,\n')  # a field over the csv module's size limit
@example(text='"' + "x" * 200_000)  # ... in the header
@example(text=f"{VIA_HEADER}\na\rb.png,1,{{}},0,,,\n")  # a bare CR in an unquoted field
@example(text=f'{VIA_HEADER}\na.png,1,"{"[" * 100_000}",0,,,\n')  # JSON nested past the recursion limit
@example(text=f'{VIA_HEADER}\na.png,1,"{{""q"": {"1" * 5000}}}",0,,,\n')  # an integer past Python's digit limit
@example(text=f"{VIA_HEADER}\na\x00.png,1,{{}},0,,,\n")
def test_the_via_parsers_collect_problems_and_never_raise(text):
    for parse, name in ((read_via_csv, "v1.csv"), (read_pie_mapping, "pies.csv")):
        problems: list[str] = []
        parsed = parse(text, name, problems)
        assert all(isinstance(p, str) and p.startswith(name) for p in problems)
        if parse is read_via_csv:
            assert all(
                isinstance(k, str) and isinstance(v, str) for attrs in parsed.answers.values() for k, v in attrs.items()
            )


FILENAME = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20).filter(
    lambda s: s.strip() == s
)
ATTRS = st.dictionaries(ANY_TEXT.map(lambda s: s[:20]), ANY_TEXT.map(lambda s: s[:20]), max_size=4)


@BOUNDED
@given(
    answers=st.dictionaries(FILENAME, ATTRS, min_size=1, max_size=6),
    regions=st.lists(st.integers(1, 3), min_size=6, max_size=6),
    order=st.randoms(use_true_random=False),
    line_end=st.sampled_from(["\n", "\r\n"]),
)
def test_valid_via_rows_round_trip(answers, regions, order, line_end):
    """A VIA export (one row per region, the same answers on each, rows in any order, either line end, any
    text in names and answers) parses back to exactly the answers written, with no problem."""
    rows = []
    for k, (filename, attrs) in enumerate(answers.items()):
        for r in range(regions[k]):
            shape = json.dumps({"name": "rect", "x": r, "y": r, "width": 5, "height": 5})
            rows.append([filename, 1000, json.dumps(attrs), regions[k], r, shape, "{}"])
    order.shuffle(rows)
    buffer = io.StringIO()
    # Text fields quoted: with "\n" line ends csv.writer would leave a CR in a filename unquoted, and such a
    # file is ambiguous to any reader (the CR ends a row), so it is not a valid VIA export.
    writer = csv.writer(buffer, lineterminator=line_end, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(VIA_COLUMNS)
    writer.writerows(rows)
    problems: list[str] = []
    via = read_via_csv(buffer.getvalue(), "R7.csv", problems)
    assert problems == []
    assert via.answers == answers and via.reader == "R7"


SURVEY_VALUES = st.sampled_from(["yes", "no", "1", "3", "5", "7", "", " "]) | ANY_TEXT.map(lambda s: s[:12])
# Mostly importable surveys (the import's writes are reached), with every kind of bad input mixed in.
SURVEY_TEXTS = st.sampled_from([*PAPER_QUESTIONS, "", "Qualité?", "Comment"]) | ANY_TEXT.map(lambda s: s[:12])
SURVEY = st.dictionaries(FILENAME, st.dictionaries(SURVEY_TEXTS, SURVEY_VALUES, max_size=3), min_size=1, max_size=4)


def _via(answers: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(VIA_COLUMNS)
    writer.writerows([f, 1, json.dumps(a), 0, "", "{}", "{}"] for f, a in answers.items())
    return buffer.getvalue()


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    surveys=st.lists(st.tuples(FILENAME.map(lambda s: s[:12] + ".csv"), SURVEY), min_size=0, max_size=2),
    pie=st.booleans(),
    unmapped=st.sampled_from([False, False, False, True]),
    title=st.sampled_from(["", "Survey", "Survey", "Survey", "bad\x00title"]),
)
@example(surveys=[("r\x00.csv", {"a.png": {"Comment": "x"}})], pie=True, unmapped=False, title="")
@example(surveys=[("r.csv", {"a\x00.png": {"Comment": "x"}})], pie=True, unmapped=False, title="")
@example(surveys=[("r.csv", {"a" * 301: {"Comment": "x"}})], pie=True, unmapped=False, title="")
@example(surveys=[("r.csv", {"a.png": {"": "x"}})], pie=True, unmapped=False, title="")
@example(surveys=[("r.csv", {"a.png": {"Qualité?": "x", "q\x00": "y"}})], pie=True, unmapped=False, title="")
def test_any_via_survey_imports_or_raises_the_import_error(surveys, pie, unmapped, title):
    files = [(name, _via(answers)) for name, answers in surveys]
    names = sorted({f for _, answers in surveys for f in answers})[: -1 if unmapped else None]
    mapping = ("pies.csv", _via_mapping(names, pie))
    try:
        result = study_import_via(files=files, mapping=mapping, title=title)
    except ViaImportError as exc:
        assert exc.problems and all(isinstance(p, str) for p in exc.problems)
        event("refused")
        return
    event("imported")
    assert result.n_cases == len({f for _, answers in surveys for f in answers})
    assert result.study.cases.count() == result.n_cases


def _via_mapping(names: list[str], pie: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["filename", "pie"])
    writer.writerows([n, int(pie)] for n in names)
    return buffer.getvalue()
