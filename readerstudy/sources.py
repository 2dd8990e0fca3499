"""Where studies come from besides uploads: sources other apps register in their ``AppConfig.ready()``.

The pruning app registers its PIE selections as the source named ``pie_selection``. A source offers
    choices() -> list[tuple[str, str]]                              # (value, label) to offer
    candidates(value: str) -> tuple[list[Candidate], dict]          # candidates + the study's `source` dict
Until one is registered, the "from a PIE selection" page says so and offers the upload instead. This app
imports no app that registers a source.
"""

from collections.abc import Callable
from dataclasses import dataclass

from readerstudy.design import Candidate, DesignError

PIE_SELECTION = "pie_selection"


@dataclass(frozen=True)
class StudySource:
    name: str
    label: str
    choices: Callable[[], list[tuple[str, str]]]
    candidates: Callable[[str], tuple[list[Candidate], dict]]


SOURCES: dict[str, StudySource] = {}


def register_source(source: StudySource) -> StudySource:
    known = SOURCES.get(source.name)
    if known is not None and known != source:
        raise ValueError(f"study source {source.name!r} is registered twice, differently")
    SOURCES[source.name] = source
    return source


def pie_selection_choices() -> list[tuple[str, str]]:
    source = SOURCES.get(PIE_SELECTION)
    return list(source.choices()) if source else []


def candidates_from_pie_selection(value: str) -> tuple[list[Candidate], dict]:
    source = SOURCES.get(PIE_SELECTION)
    if source is None:
        raise DesignError("No PIE selections are available yet; run a PIE-selection job or upload images.")
    return source.candidates(value)
