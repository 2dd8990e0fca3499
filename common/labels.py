"""Reading label CSVs: one rule for the dataset loader (pruning.engine.data) and the reports
(analysis.reports.inputs). Every cell is read as text, so an error can quote the exact cell ("2", "yes", " "),
and a label is 1/1.0 or 0/0.0, surrounding spaces allowed. Callers word the errors (file, column, line)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

TRUE, FALSE = {"1", "1.0"}, {"0", "0.0"}


def read_text_csv(path: Path, error: type[Exception], missing: str) -> pd.DataFrame:
    """The CSV with every cell as text (no NaN guessing); ``error(f"{path}: {missing}")`` when there is no
    such file, ``error(f"{path}: not a readable CSV file (...)")`` when it cannot be parsed."""
    if not Path(path).is_file():
        raise error(f"{path}: {missing}")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not a readable CSV file ({exc})") from exc


def zero_one_labels(df: pd.DataFrame, class_names: Sequence[str]) -> tuple[np.ndarray, str | None, np.ndarray]:
    """``(labels, bad_column, bad_rows)``: the 0/1 matrix (uint8, one column per class) when every cell is a
    label, else the first column holding something else and the 0-based rows that do (labels then partial)."""
    labels = np.zeros((len(df), len(class_names)), dtype=np.uint8)
    for j, col in enumerate(class_names):
        cells = df[col]
        ones, zeros = cells.isin(TRUE).to_numpy(), cells.isin(FALSE).to_numpy()
        if not (ones | zeros).all():  # strip only when needed: a Python call per cell is slow at scale
            cells = cells.str.strip()
            ones, zeros = cells.isin(TRUE).to_numpy(), cells.isin(FALSE).to_numpy()
        bad = np.flatnonzero(~(ones | zeros))
        if len(bad):
            return labels, col, bad
        labels[:, j] = ones
    return labels, None, np.zeros(0, dtype=np.int64)
