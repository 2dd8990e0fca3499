"""Number formatting for report pages: missing values as a dash, p-values the way papers print them."""

import math

from django import template

register = template.Library()
DASH = "—"


def _finite(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


@register.filter
def num(value, digits: int = 3) -> str:
    v = _finite(value)
    return DASH if v is None else f"{v:.{int(digits)}f}"


@register.filter
def pval(value) -> str:
    v = _finite(value)
    if v is None:
        return DASH
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


@register.filter
def pct(value, digits: int = 0) -> str:
    v = _finite(value)
    return DASH if v is None else f"{100 * v:+.{int(digits)}f}%"


@register.filter
def ci(pair) -> str:
    """[lo, hi] -> "[0.41, 0.83]"."""
    if not pair or len(pair) != 2:
        return DASH
    lo, hi = (_finite(x) for x in pair)
    return DASH if lo is None or hi is None else f"[{lo:.2f}, {hi:.2f}]"


@register.filter
def index(seq, i):
    try:
        return seq[int(i)]
    except (TypeError, IndexError, ValueError):
        return None


@register.filter
def cell(value) -> str:
    """A table cell: numbers to 4 significant digits, missing as a dash, everything else as text."""
    if value is None or value == "":
        return DASH if value is None else ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return DASH if not math.isfinite(value) else f"{value:.4g}"
    return str(value)
