"""Per-image attributes for subgroup analysis: sex, age band, view (PA/AP), plus any user columns.

One tidy frame per dataset, indexed by image id::

    image_id (index)  patient_id  sex  age_band  view  [user columns ...]

Every cell is text. A missing attribute is :data:`NA` ("not available") in every table, never a
crash and never a guess. Column names are matched loosely, so the NIH table (``Image Index``,
``Patient ID``, ``Patient Age``, ``Patient Gender``, ``View Position``), MIMIC's metadata
(``dicom_id``/``path``, ``subject_id``, ``anchor_age``, ``gender``, ``ViewPosition``) and plain
``image_id,sex,age,view`` files all read the same way.

Validation is strict at this edge: an age that is text or outside 0..120 years is a
:class:`MetadataError` naming the file line, the image id and the cell.
Pure: pandas only, no Django, no torch.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from common.errors import AppError

NA = "not available"
ATTRIBUTES = ("sex", "age_band", "view")
# Age bands as in Seyyed-Kalantari et al. (Nat Med 2021): 0-20, 20-40, 40-60, 60-80, 80+.
AGE_BANDS = ((0, 20, "0-19"), (20, 40, "20-39"), (40, 60, "40-59"), (60, 80, "60-79"), (80, 121, "80+"))
MAX_AGE = 120
_ALIASES = {
    "image_id": ("image_id", "image index", "id", "dicom_id", "path", "image"),
    "patient_id": ("patient_id", "patient id", "subject_id", "patient"),
    "sex": ("sex", "patient gender", "gender", "patient sex"),
    "age": ("age", "patient age", "anchor_age"),
    "age_band": ("age_band", "age band"),
    "view": ("view", "view position", "viewposition", "view_position"),
}
_SEX = {"m": "M", "male": "M", "f": "F", "female": "F"}
_BLANK = {"", "nan", "na", "n/a", "none", "null", "unknown", NA}


class MetadataError(AppError):
    """A metadata file or cell that cannot be used; the message names the file, line and column."""


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name.strip().lower())


def _find(columns: Sequence[str], field: str) -> str | None:
    wanted = {_key(a) for a in _ALIASES[field]}
    return next((c for c in columns if _key(c) in wanted), None)


def age_band(age: float) -> str:
    """The band of an age in years (0..120)."""
    for lo, hi, name in AGE_BANDS:
        if lo <= age < hi:
            return name
    raise MetadataError(f"age {age!r} is outside 0..{MAX_AGE} years")


def _ages(cells: pd.Series, ids: pd.Series, where: str, column: str) -> list[str]:
    text = cells.str.strip()
    blank = text.str.lower().isin(_BLANK)
    # NIH writes ages as "057Y" in its DICOM headers; accept a trailing Y, nothing else.
    num = pd.to_numeric(text.str.replace(r"(?i)^(\d+(?:\.\d+)?)\s*y$", r"\1", regex=True), errors="coerce")
    for bad, why in (((~blank) & num.isna(), "is not a number"), (num.notna() & ((num < 0) | (num > MAX_AGE)), "")):
        rows = np.flatnonzero(bad.to_numpy())
        if len(rows):
            i = int(rows[0])
            reason = why or f"is outside 0..{MAX_AGE} years"
            raise MetadataError(
                f"{where} line {i + 2} (image {ids.iat[i]!r}): age {cells.iat[i]!r} in column {column!r} {reason}"
                f"{f' ({len(rows)} such rows)' if len(rows) > 1 else ''}"
            )
    return [NA if pd.isna(a) else age_band(float(a)) for a in num]


def _norm_text(cells: pd.Series, mapping: dict[str, str] | None = None, upper: bool = False) -> list[str]:
    out = []
    for v in cells.str.strip():
        low = v.lower()
        if low in _BLANK:
            out.append(NA)
        elif mapping is not None:
            out.append(mapping.get(low, v))
        else:
            out.append(v.upper() if upper else v)
    return out


def tidy_metadata(df: pd.DataFrame, where: str = "metadata", extra: Sequence[str] | None = None) -> pd.DataFrame:
    """Normalise a text frame (read with ``dtype=str``) to the tidy layout; raise naming the row.

    ``extra``: user columns to keep as attributes (default: every column that is not an id, sex,
    age or view column).
    """
    cols = list(df.columns)
    id_col = _find(cols, "image_id")
    if id_col is None:
        raise MetadataError(f"{where}: no image id column (one of {', '.join(_ALIASES['image_id'])}); has {cols}")
    ids = df[id_col].astype(str).str.strip()
    if (ids == "").any():
        raise MetadataError(f"{where} line {int(np.flatnonzero((ids == '').to_numpy())[0]) + 2}: empty image id")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise MetadataError(f"{where}: image id {dup.iat[0]!r} appears more than once")
    out = pd.DataFrame(index=pd.Index(ids.to_list(), name="image_id"))
    used = {id_col}
    pid = _find(cols, "patient_id")
    out["patient_id"] = _norm_text(df[pid].astype(str)) if pid else NA
    sex = _find(cols, "sex")
    out["sex"] = _norm_text(df[sex].astype(str), _SEX) if sex else NA
    age, band = _find(cols, "age"), _find(cols, "age_band")
    if age:
        out["age_band"] = _ages(df[age].astype(str), ids, where, age)
    else:
        out["age_band"] = _norm_text(df[band].astype(str)) if band else NA
    view = _find(cols, "view")
    out["view"] = _norm_text(df[view].astype(str), upper=True) if view else NA
    used |= {c for c in (pid, sex, age, band, view) if c}
    keep = [c for c in cols if c not in used] if extra is None else list(extra)
    for c in keep:
        if c not in df.columns:
            raise MetadataError(f"{where}: no column {c!r} (has {cols})")
        if c not in out.columns:
            out[c] = _norm_text(df[c].astype(str))
    return out


def read_metadata_csv(path: str | os.PathLike, extra: Sequence[str] | None = None) -> pd.DataFrame:
    """A metadata CSV (one row per image) in the tidy layout."""
    path = Path(path)
    if not path.is_file():
        raise MetadataError(f"{path}: metadata file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MetadataError(f"{path}: not a readable CSV file ({exc})") from exc
    return tidy_metadata(df, str(path), extra)


def align_metadata(meta: pd.DataFrame | None, image_ids: Sequence[str]) -> pd.DataFrame:
    """Rows in ``image_ids`` order; an image without a row (or no metadata at all) is NA throughout.

    Ids match exactly, else by file name (``files/p10/.../x.jpg`` matches ``x.jpg``; MIMIC ids are paths).
    """
    ids = [str(i) for i in image_ids]
    if meta is None:
        return pd.DataFrame({a: NA for a in ("patient_id", *ATTRIBUTES)}, index=pd.Index(ids, name="image_id"))
    out = meta.reindex(ids)
    if out.isna().all(axis=1).any():
        by_name = meta.copy()
        by_name.index = [Path(i).name for i in meta.index]
        by_name = by_name[~by_name.index.duplicated()]
        alt = by_name.reindex([Path(i).name for i in ids])
        alt.index = out.index
        out = out.fillna(alt)
    return out.fillna(NA).astype(str)


def attribute_columns(meta: pd.DataFrame) -> list[str]:
    """Attributes with at least one known value (sex, age band, view first, then user columns)."""
    cols = [c for c in meta.columns if c != "patient_id"]
    return [c for c in cols if (meta[c] != NA).any()]
