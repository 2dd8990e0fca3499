"""The data behind each report figure, kept next to the PNGs so SVG and PDF are drawn on demand.

Rendering every figure as PNG, SVG and PDF up front took as long as all the report's statistics
(vector formats are slower than PNG, and few readers download them). A report therefore writes
PNGs plus ``figure_data.json``: for each figure, the arguments of the function that draws it
(the numbers behind the figure, so it is also offered for download). :func:`render_figure`
rebuilds a figure from that file and saves the requested format the first time someone asks for
it (the web download does).

The file is strict JSON with tagged values for data frames, arrays, correlations and the PIE
characterisation, and ``{"__float__": "nan" | "inf" | "-inf"}`` for non-finite numbers. Floats
are written with ``repr`` (an exact round trip), so a rebuilt figure is drawn from the very same
numbers (a test compares the PNG bytes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from common.files import atomic_write_text

from .figures import fig_curves, fig_overall, fig_weight_histograms, save_figure
from .figures_corr import fig_fcd, fig_frequency
from .figures_pies import fig_pies
from .figures_who import fig_calibration, fig_risk_coverage, fig_subgroups, fig_uncertainty
from .pies import PieCharacterisation
from .stats import Correlation

DATA_FILE = "figure_data.json"
VECTOR_FORMATS = ("svg", "pdf")


def _overall(overall: pd.DataFrame, experiment: str) -> Figure:
    return fig_overall({experiment: overall} if experiment else overall)


BUILDERS: dict[str, Callable[..., Figure]] = {
    "fig1_overall": _overall,
    "fig2_curves": fig_curves,
    "fig3_frequency": fig_frequency,
    "fig4_cooccurrence": fig_fcd,
    "fig5_pies": fig_pies,
    "fig_weights": fig_weight_histograms,
    "fig_subgroups": fig_subgroups,
    "fig_calibration": fig_calibration,
    "fig_risk_coverage": fig_risk_coverage,
    "fig_uncertainty": fig_uncertainty,
}


def build_figure(name: str, args: Mapping) -> Figure:
    if name not in BUILDERS:
        raise KeyError(f"no figure named {name!r}; known: {sorted(BUILDERS)}")
    return BUILDERS[name](**args)


# --- tagged JSON --------------------------------------------------------------------------------


def encode(v):
    if isinstance(v, pd.DataFrame):
        return {"__frame__": {str(c): {"dtype": str(v[c].dtype), "values": encode(v[c].tolist())} for c in v.columns}}
    if isinstance(v, np.ndarray):
        return {"__array__": encode(v.tolist()), "dtype": str(v.dtype)}
    if isinstance(v, Correlation):
        return {"__correlation__": encode(asdict(v))}
    if isinstance(v, PieCharacterisation):
        return {"__pies__": {f.name: encode(getattr(v, f.name)) for f in fields(v)}}
    if isinstance(v, Mapping):
        return {str(k): encode(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [encode(x) for x in v]
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return float(v) if np.isfinite(v) else {"__float__": str(float(v))}
    return v


def decode(v):
    if isinstance(v, list):
        return [decode(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "__float__" in v:
        return float(v["__float__"])
    if "__frame__" in v:
        cols = {c: pd.Series(decode(d["values"]), dtype=d["dtype"]) for c, d in v["__frame__"].items()}
        return pd.DataFrame(cols)
    if "__array__" in v:
        return np.asarray(decode(v["__array__"]), dtype=v["dtype"])
    if "__correlation__" in v:
        d = decode(v["__correlation__"])
        return Correlation(**{k: tuple(x) if isinstance(x, list) else x for k, x in d.items()})
    if "__pies__" in v:
        return PieCharacterisation(**{k: decode(x) for k, x in v["__pies__"].items()})
    return {k: decode(x) for k, x in v.items()}


def write_figure_data(folder: str | os.PathLike, figure_args: Mapping[str, Mapping]) -> Path:
    """Write every figure's arguments to ``folder/figure_data.json`` atomically."""
    return atomic_write_text(Path(folder) / DATA_FILE, json.dumps(encode(figure_args), allow_nan=False))


def read_figure_data(folder: str | os.PathLike) -> dict:
    """{figure name: arguments} from ``folder``; {} when the report has none (older reports)."""
    path = Path(folder) / DATA_FILE
    if not path.is_file():
        return {}
    return {name: decode(args) for name, args in json.loads(path.read_text(encoding="utf-8")).items()}


def render_figure(folder: str | os.PathLike, name: str, fmt: str) -> Path:
    """Draw figure ``name`` from the report folder's data and save ``folder/name.fmt`` (atomic)."""
    if fmt not in VECTOR_FORMATS + ("png",):
        raise ValueError(f"unknown figure format {fmt!r}")
    data = read_figure_data(folder)
    if name not in data:
        raise KeyError(f"{folder}: no data for figure {name!r}")
    return save_figure(build_figure(name, data[name]), Path(folder) / name, (fmt,))[0]
