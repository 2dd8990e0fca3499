"""What other apps plug into an experiment's pipeline, registered in their ``AppConfig.ready()``.

A follow-up runs once the experiment's PIEs are selected (the analysis app registers its report). The
pipeline counts it as a step, finds its job among the experiment's sub-jobs by kind, and finishes only
when it succeeded. Pruning never imports the app that registers it.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ExperimentFollowUp:
    name: str
    label: str  # shown as the step on the experiment page, e.g. "Forgettability and PIE report"
    job_kind: str  # the kind of the job ``start`` creates
    # start(experiment=..., user=...) -> the Job it queued, or an object with a ``job`` attribute.
    start: Callable


FOLLOW_UPS: dict[str, ExperimentFollowUp] = {}


def register_follow_up(follow_up: ExperimentFollowUp) -> ExperimentFollowUp:
    known = FOLLOW_UPS.get(follow_up.name)
    if known is not None and known != follow_up:
        raise ValueError(f"experiment follow-up {follow_up.name!r} is registered twice, differently")
    FOLLOW_UPS[follow_up.name] = follow_up
    return follow_up


def follow_ups() -> list[ExperimentFollowUp]:
    return list(FOLLOW_UPS.values())
