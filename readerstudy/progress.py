"""Where a reader is in their form, from the set of cases they finished. Both sides read these: selectors
(progress, which cases may be shown) and services (which case may be answered now), so they live apart from
either and selectors never import services."""

from readerstudy.models import Assignment


def completed_case_ids(assignment: Assignment) -> set[int]:
    """Ids of the cases this reader has finished (one query; progress and positions derive from it)."""
    from readerstudy.hotpath import done_case_ids  # plain SQL: this runs on every reader request

    return done_case_ids(assignment.pk)


def position_after(order: list[int], done: set[int]) -> int:
    """1-based position of the first case of `order` not in `done`; len(order) + 1 when all are done."""
    for k, case_id in enumerate(order, start=1):
        if case_id not in done:
            return k
    return len(order) + 1
