"""Pure analysis core: metrics, forgettability, PIE characterisation, statistics, figures.

No Django import anywhere in this package (a test enforces it), so it runs from a worker, the
command line or a notebook. The one-call entry point is :func:`compute_report`.
"""

from .forgettability import ForgettabilityResult, compute_forgettability, fcd_pairs, median_relative_change
from .metrics import ClassMetrics, MetricsInputError, class_metrics, metrics_table, overall_table
from .pies import PieCharacterisation, PieInputError, characterise_pies
from .report import FIGURE_NAMES, ForgettabilityReport, ReportInputError, compute_report
from .stats import Correlation, correlate, mantel_p

__all__ = [
    "FIGURE_NAMES",
    "ClassMetrics",
    "Correlation",
    "ForgettabilityResult",
    "MetricsInputError",
    "PieCharacterisation",
    "PieInputError",
    "ForgettabilityReport",
    "ReportInputError",
    "characterise_pies",
    "class_metrics",
    "compute_report",
    "correlate",
    "fcd_pairs",
    "compute_forgettability",
    "mantel_p",
    "median_relative_change",
    "metrics_table",
    "overall_table",
]
