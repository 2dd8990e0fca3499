"""CSV cells that a spreadsheet will not run as formulas (CSV/formula injection, OWASP).

A cell that starts with = + - @ | % (defusedcsv's set) or with a tab or carriage return (OWASP adds
those two) is prefixed with a single quote, which spreadsheets show but do not evaluate. Numbers,
including negative ones, stay as they are. Every CSV the platform writes for people to open goes
through here, with RFC 4180 line ends ("\r\n"): rows (`rows_csv_text`: the reader-study exports, VIA files,
pie_mapping.csv) and pandas frames (`frame_csv_text`: report, statistics and PIE tables, training history.csv).
Every text dtype of a frame is covered: object, pandas "string" and categorical columns. Pure: no Django.

Left out on purpose: the synthetic dataset's own label files (pruning.engine.synthetic), which are data the
loaders read back, hold only generated ids and numbers, and are never a download.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from defusedcsv.csv import _escape as _defused_escape

EXTRA_TRIGGERS = ("\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(EXTRA_TRIGGERS):
        return "'" + value
    return _defused_escape(value)


def _is_text(series: pd.Series) -> bool:
    dtype = series.dtype
    return (
        pd.api.types.is_object_dtype(dtype)
        or isinstance(dtype, (pd.StringDtype, pd.CategoricalDtype))
        or pd.api.types.is_string_dtype(dtype)
    )


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells (object, "string" and categorical columns) and column names are neutralised;
    numbers untouched. Text columns become object columns (a category cannot take the quoted spelling)."""
    out = frame.copy()
    for column in out.columns:
        if _is_text(out[column]):
            values = out[column].astype(object)
            out[column] = values.map(lambda v: safe_cell(v) if isinstance(v, str) else v)
    out.columns = [safe_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def frame_csv_text(frame: pd.DataFrame) -> str:
    """The CSV text of a table people download, written as the reader-study exports are: neutralised cells
    and RFC 4180 line ends ("\r\n"; with "\n" alone a "\r" inside a text cell would go unquoted and a
    spreadsheet would start a new row there, a way around the formula check)."""
    return safe_frame(frame).to_csv(index=False, lineterminator="\r\n")


def rows_csv_text(rows: Iterable[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    """CSV text of plain rows, every cell neutralised, "\r\n" line ends (see frame_csv_text for why)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header is not None:
        writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue()
