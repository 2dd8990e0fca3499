"""Per-image metadata of a dataset (sex, age band, view, user columns; ``common.metadata`` layout).

Where it comes from, by dataset kind (``pruning.engine.spec``):

* ``nih-cxr-lt``: joined automatically, by image id, to the real NIH ChestX-ray14 table that
  torchxrayvision ships (``Data_Entry_2017_v2020.csv.gz``: Patient ID, Patient Age, Patient Gender
  and View Position of all 112,120 images); a ``metadata_csv`` key in the spec overrides it;
* ``mimic-cxr-lt`` and ``csv``: the spec's optional ``metadata_csv`` (MIMIC's labels carry no
  demographics; join ``patients.csv`` and the ``ViewPosition`` of ``mimic-cxr-2.0.0-metadata.csv``
  by hand, one row per image);
* ``synthetic``: ``metadata.csv`` written by the generator (its real NIH rows' attributes).

No metadata is never an error: every attribute is then "not available".
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from common.metadata import read_metadata_csv, tidy_metadata
from pruning.engine.spec import check_spec
from pruning.engine.synthetic_labels import nih_table_path

__all__ = ["metadata_for", "nih_metadata"]


@lru_cache(maxsize=1)
def nih_metadata() -> pd.DataFrame | None:
    """The NIH table's attributes in the tidy layout (None when torchxrayvision is not installed)."""
    path = nih_table_path()
    if path is None:
        return None
    cols = ["Image Index", "Patient ID", "Patient Age", "Patient Gender", "View Position"]
    df = pd.read_csv(path, usecols=cols, dtype=str, keep_default_na=False)
    return tidy_metadata(df, str(path), extra=[])


def metadata_for(spec: dict, metadata_csv: str | Path | None = None) -> pd.DataFrame | None:
    """The dataset's per-image metadata (tidy, indexed by image id), or None when there is none.

    ``metadata_csv`` (or the spec's ``metadata_csv``) wins over the automatic sources.
    """
    kind = check_spec(spec)
    path = metadata_csv or spec.get("metadata_csv")
    if path:
        return read_metadata_csv(path)
    if kind == "synthetic":
        own = Path(spec["root"]) / "metadata.csv"
        return read_metadata_csv(own) if own.is_file() else None
    if kind == "nih-cxr-lt":
        return nih_metadata()
    return None
