"""Figures redrawn from figure_data.json are the figures the report drew (same PNG bytes)."""

import io

import numpy as np

from analysis.core.figure_data import build_figure, decode, encode, read_figure_data, render_figure
from tests.analysis_tests.test_core_report import run


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    return buf.getvalue()


def test_every_figure_redrawn_from_the_written_data_is_pixel_identical(tmp_path):
    weights = [np.random.default_rng(0).normal(size=(8, 3, 3, 3)), np.ones((5, 4))]
    report = run(weights=weights)
    report.write(tmp_path)
    data = read_figure_data(tmp_path)
    assert list(data) == list(report.figure_args) == [*report.figures]
    for name, args in report.figure_args.items():
        assert png(build_figure(name, data[name])) == png(build_figure(name, args)), name


def test_svg_and_pdf_are_drawn_from_the_folder_alone(tmp_path):
    run().write(tmp_path)
    assert not list(tmp_path.glob("*.svg")) and not list(tmp_path.glob("*.pdf"))
    assert b"<svg" in render_figure(tmp_path, "fig3_frequency", "svg").read_bytes()[:400]
    assert render_figure(tmp_path, "fig5_pies", "pdf").read_bytes()[:5] == b"%PDF-"


def test_non_finite_numbers_survive_strict_json():
    value = {"x": [1.5, float("nan"), float("inf"), -float("inf")], "a": np.array([np.nan, 0.1])}
    back = decode(encode(value))
    assert np.isnan(back["x"][1]) and back["x"][2] == np.inf and back["x"][3] == -np.inf
    assert back["a"].dtype == np.float64 and np.isnan(back["a"][0]) and back["a"][1] == 0.1
