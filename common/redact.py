"""Text safe to show on a page: no absolute server path, no traceback. Pure (no Django).

Pages show a job's error, an experiment's or report's folders and a dataset's spec; before this they showed
absolute server paths (artifact folders, dataset roots) and whole Python tracebacks. Those stay in the log;
the page gets the exception's one-line message, with each path under a known root shown as that root's
label ("artifacts/experiments/3") and any other absolute path as "<server path>".
"""

from __future__ import annotations

import re
from collections.abc import Mapping

TRACEBACK = "Traceback (most recent call last):"
# An absolute POSIX path, up to whitespace, a quote, a comma, a closing bracket or the end.
_ABSOLUTE = re.compile(r"(?<![\w.:/])/(?:[^\s'\"(),\[\]<>]+)")


def without_traceback(text: str) -> str:
    """The text before a traceback, or its last line (the exception) when it starts with one."""
    head = text.split(TRACEBACK, 1)[0].strip()
    if head:
        return head
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def redact_paths(text: str, roots: Mapping[str, str]) -> str:
    """Absolute paths in `text` as `label/relative` under a known root (longest root first), else a label."""
    ordered = sorted(((str(p).rstrip("/"), label) for label, p in roots.items() if str(p)), key=lambda r: -len(r[0]))

    def replace(match: re.Match) -> str:
        path = match.group(0)
        for root, label in ordered:
            if path == root or path.startswith(root + "/"):
                return label + path[len(root) :]
        return "<server path>"

    return _ABSOLUTE.sub(replace, text)


def public_text(text: str, roots: Mapping[str, str]) -> str:
    return redact_paths(without_traceback(str(text)), roots)
