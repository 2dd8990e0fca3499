"""Figures are pyplot-free Figure objects saved atomically as PNG, SVG and PDF."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.core.figures import default_classes, fig_overall, fig_weights, save_figure, weight_histogram

ROOT = Path(__file__).resolve().parents[2]


def test_save_figure_writes_png_svg_and_pdf(tmp_path):
    overall = pd.DataFrame(
        {
            "seed": [0, 0, 1, 1],
            "sparsity": [0, 0.5] * 2,
            "mauc": [0.8, 0.7, 0.82, 0.6],
            "map": [0.3, 0.2, 0.31, 0.1],
            "mf1": [0.2, 0.1, 0.2, 0.1],
        }
    )
    fig = fig_overall({"NIH": overall, "MIMIC": overall.assign(map=overall["map"] / 2)})
    assert isinstance(fig, Figure)
    paths = save_figure(fig, tmp_path / "fig1")
    assert [p.name for p in paths] == ["fig1.png", "fig1.svg", "fig1.pdf"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths[1].read_bytes()[:400]
    assert paths[2].read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig1.pdf", "fig1.png", "fig1.svg"]  # no temp left


def test_weight_histogram_counts_every_weight_with_shared_bins():
    counts, edges = weight_histogram([np.array([-1.0, 0.5]), np.array([[0.25, -0.25], [0.0, 1.0]])], bins=4)
    assert counts.tolist() == [1, 2, 1, 2] and edges[-1] == 1.0
    assert isinstance(fig_weights({"NIH": [np.ones(3)], "MIMIC": [np.arange(4.0)]}), Figure)


def test_default_classes_spread_from_head_to_tail():
    names = list("abcdefgh")
    freq = np.array([5, 80, 3, 60, 1, 40, 20, 10])
    assert default_classes(names, freq, k=3) == ["b", "h", "e"]


def test_analysis_core_imports_without_django_pyplot_or_torch():
    code = (
        "import sys, analysis.core, analysis.core.report, analysis.core.figures_pies\n"
        "bad = [m for m in ('django', 'matplotlib.pyplot', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
