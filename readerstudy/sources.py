"""Where studies come from besides uploads: PIE selections of the pruning engine.

The pruning app owns PIESelection; it plugs in by providing a module `pruning.readerstudy_source` with
    selection_choices() -> list[tuple[str, str]]          # (value, label) of selections to offer
    selection_candidates(value: str) -> tuple[list[Candidate], dict]   # candidates + `source` dict
Until it exists, the "from a PIE selection" page says so and offers the upload instead.
"""

import importlib
from types import ModuleType

from readerstudy.design import Candidate, DesignError

ADAPTER_MODULE = "pruning.readerstudy_source"


def _adapter() -> ModuleType | None:
    try:
        return importlib.import_module(ADAPTER_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != ADAPTER_MODULE:
            raise
        return None


def pie_selection_choices() -> list[tuple[str, str]]:
    adapter = _adapter()
    return list(adapter.selection_choices()) if adapter else []


def candidates_from_pie_selection(value: str) -> tuple[list[Candidate], dict]:
    adapter = _adapter()
    if adapter is None:
        raise DesignError("No PIE selections are available yet; run a PIE-selection job or upload images.")
    return adapter.selection_candidates(value)
