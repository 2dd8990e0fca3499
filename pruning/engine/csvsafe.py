"""CSV cells that a spreadsheet will not run as formulas (CSV/formula injection, OWASP).

A cell that starts with = + - @ | % (defusedcsv's set) or with a tab or carriage return (OWASP adds
those two) is prefixed with a single quote, which spreadsheets show but do not evaluate. Numbers,
including negative ones, stay as they are. Every CSV the platform writes for people to open goes
through here: the reader-study exports (via defusedcsv's writer plus the two extra characters) and the
report tables (pandas frames, via `safe_frame`). Pure: no Django import.
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
