"""Reading the paper's survey files: VGG Image Annotator (VIA 2) CSV exports and the PIE mapping file.

Pure Python (no Django), so the parser is tested on text alone. Problems are collected, never raised one
by one and never dropped: each says which file and which row (1 = the header line), so a researcher can
fix all of them in one pass.

VIA CSV columns: filename, file_size, file_attributes, region_count, region_id, region_shape_attributes,
region_attributes. A file appears on one row per region (or one row without regions); its answers are the
JSON object in ``file_attributes`` (question text -> answer string), the same on each of its rows. Rows
may come in any order. A file whose rows carry different non-empty answers is a problem.

Mapping CSV columns: filename, pie (1/0, yes/no, true/false) and optionally reader. PIE membership comes
only from here, never from a row's position (the paper's script labelled the first 20 sorted rows "PIE").
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import PurePath

VIA_COLUMNS = (
    "filename",
    "file_size",
    "file_attributes",
    "region_count",
    "region_id",
    "region_shape_attributes",
    "region_attributes",
)
# The paper's three questions, recognised by their exact text: text -> (key, kind).
PAPER_QUESTIONS = {
    "Do you fully agree with the label?": ("agree_label", "yes_no"),
    "How would you rate the image quality?": ("quality", "likert"),
    "How difficult would you consider it to properly diagnose this image?": ("difficulty", "likert"),
}
_TRUE, _FALSE = {"1", "yes", "true"}, {"0", "no", "false"}


@dataclass
class ViaFile:
    """One reader's survey file: filename -> answers (question text -> answer string), and where each came from."""

    name: str
    answers: dict[str, dict[str, str]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # filename -> first row number

    @property
    def reader(self) -> str:
        return PurePath(self.name).stem


@dataclass
class PieMapping:
    pie: dict[str, bool] = field(default_factory=dict)
    reader: dict[str, str] = field(default_factory=dict)  # only filenames whose row names a reader


def _rows(text: str, name: str, required: tuple[str, ...], problems: list[str]) -> list[tuple[int, dict]]:
    """(row number, row) of a CSV text; a text the csv module cannot read (a field over its size limit, a NUL
    in some Python versions) is a problem at the row where reading stopped, not an exception."""
    # newline="": the csv module sees the line ends as written, so CR, LF and CRLF all end a row, and a CR or
    # LF inside a quoted field stays in the field (as RFC 4180 and the csv docs ask).
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    rows: list[tuple[int, dict]] = []
    row_no = 0  # the last row read (1: the header)
    try:
        columns = reader.fieldnames or []
        row_no = 1
        missing = [c for c in required if c not in columns]
        if missing:
            problems.append(f"{name}: missing column(s) {', '.join(missing)} (found {', '.join(columns)})")
            return []
        for row_no, row in enumerate(reader, start=2):
            rows.append((row_no, row))
    except csv.Error as exc:
        problems.append(f"{name} row {row_no + 1}: not readable as CSV ({exc})")
    return rows


def read_via_csv(text: str, name: str, problems: list[str]) -> ViaFile:
    """Parse one VIA CSV export; appends "<file> row <n>: ..." messages to `problems`."""
    via = ViaFile(name)
    for row_no, row in _rows(text, name, ("filename", "file_attributes"), problems):
        filename = (row.get("filename") or "").strip()
        if not filename:
            problems.append(f"{name} row {row_no}: empty filename")
            continue
        try:
            attrs = json.loads(row.get("file_attributes") or "{}")
        except json.JSONDecodeError as exc:
            problems.append(f"{name} row {row_no}: file_attributes is not valid JSON ({exc.msg})")
            continue
        except (ValueError, RecursionError) as exc:  # an integer over Python's digit limit; nesting too deep
            problems.append(f"{name} row {row_no}: file_attributes cannot be read ({type(exc).__name__})")
            continue
        if not isinstance(attrs, dict):
            problems.append(f"{name} row {row_no}: file_attributes must be a JSON object")
            continue
        attrs = {str(k): "" if v is None else str(v) for k, v in attrs.items()}
        known = via.answers.get(filename)
        if known is None:
            via.answers[filename], via.rows[filename] = attrs, row_no
        elif attrs and known and attrs != known:
            problems.append(f"{name} row {row_no}: answers for {filename} differ from its row {via.rows[filename]}")
        elif attrs and not known:
            via.answers[filename], via.rows[filename] = attrs, row_no
    return via


def read_pie_mapping(text: str, name: str, problems: list[str]) -> PieMapping:
    """Parse the mapping file (filename, pie[, reader])."""
    mapping = PieMapping()
    for row_no, row in _rows(text, name, ("filename", "pie"), problems):
        filename = (row.get("filename") or "").strip()
        flag = (row.get("pie") or "").strip().lower()
        if not filename:
            problems.append(f"{name} row {row_no}: empty filename")
            continue
        if flag not in _TRUE | _FALSE:
            problems.append(f"{name} row {row_no}: pie must be 1/0, yes/no or true/false (got {flag!r})")
            continue
        pie = flag in _TRUE
        if filename in mapping.pie and mapping.pie[filename] != pie:
            problems.append(f"{name} row {row_no}: {filename} is listed as both PIE and non-PIE")
            continue
        mapping.pie[filename] = pie
        reader = (row.get("reader") or "").strip()
        if reader:
            if mapping.reader.get(filename, reader) != reader:
                problems.append(
                    f"{name} row {row_no}: {filename} names two readers; "
                    "leave 'reader' empty and give one CSV per reader"
                )
                continue
            mapping.reader[filename] = reader
    return mapping


def question_key(text: str, taken: set[str]) -> tuple[str, str]:
    """(key, kind) for an attribute: the paper's three by their text, anything else a free-text question."""
    if text in PAPER_QUESTIONS:
        return PAPER_QUESTIONS[text]
    # ASCII only: the key is a slug (a letter like "é" is alphanumeric to Python but not to the slug check).
    base = "".join(c if c.isascii() and c.isalnum() else "_" for c in text.lower()).strip("_")[:40] or "question"
    key, k = base, 2
    while key in taken:
        key, k = f"{base}_{k}", k + 1
    return key, "text"


def write_pie_mapping(rows: list[tuple[str, bool]]) -> str:
    """The mapping file our VIA export writes next to the VIA CSVs (filename, pie)."""
    from common.csvsafe import rows_csv_text

    # Neutralised as the VIA files are, so a file name still matches its row there when read back.
    return rows_csv_text(([filename, int(pie)] for filename, pie in sorted(set(rows))), ["filename", "pie"])
