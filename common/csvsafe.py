"""CSV cells that a spreadsheet will not run as formulas (CSV/formula injection, OWASP).

A cell that starts with = + - @ | % (defusedcsv's set) or with a tab or carriage return (OWASP adds
those two) is prefixed with a single quote, which spreadsheets show but do not evaluate. Numbers,
including negative ones, stay as they are. Every CSV the platform writes for people to open goes
through here: the reader-study exports (via defusedcsv's writer plus the two extra characters) and the
report, statistics and PIE tables (pandas frames, via `frame_csv_text`). Pure: no Django import.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from defusedcsv.csv import _escape as _defused_escape

EXTRA_TRIGGERS = ("\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(EXTRA_TRIGGERS):
        return "'" + value
    return _defused_escape(value)


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells (object columns) and column names are neutralised; numbers untouched."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: safe_cell(v) if isinstance(v, str) else v)
    out.columns = [safe_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def frame_csv_text(frame: pd.DataFrame) -> str:
    """The CSV text of a table people download, written as the reader-study exports are: neutralised cells
    and RFC 4180 line ends ("\r\n"; with "\n" alone a "\r" inside a text cell would go unquoted and a
    spreadsheet would start a new row there, a way around the formula check)."""
    return safe_frame(frame).to_csv(index=False, lineterminator="\r\n")
