"""Reads for "Preview as reader": a form's cases in the reading page's own payload shape, never editable.

An admin checks what readers will see (images, shown labels, questions, order rules) before opening a study;
nothing here writes (no views recorded, no answers), and the payload carries no hidden field.
"""

from typing import Any

from django.urls import reverse

from readerstudy.design import presentation_order
from readerstudy.models import Case, Form
from readerstudy.selectors import spacing_payload, study_reader_fields

PREVIEW_SEED = 0  # a fixed order, so the admin sees the same sequence each time


def preview_order(form: Form) -> list[int]:
    cases = list(Case.objects.filter(forms=form).values_list("id", "is_pie", "repeat_of_id"))
    return presentation_order(
        [c[0] for c in cases],
        PREVIEW_SEED,
        is_pie={c[0]: c[1] for c in cases},
        repeat_of={c[0]: c[2] for c in cases if c[2]},
    )


def preview_case_payload(*, form: Form, position: int, order: list[int] | None = None) -> dict[str, Any] | None:
    """The case at `position` of the preview order, shaped as `selectors.reader_case_payload`; None if none."""
    order = order if order is not None else preview_order(form)
    if not 1 <= position <= len(order):
        return None
    cases = Case.objects.in_bulk([order[position - 1], *order[position : position + 1]])
    case = cases[order[position - 1]]
    nxt = cases.get(order[position]) if position < len(order) else None
    return {
        "position": position,
        "total": len(order),
        "done": 0,
        "case": {
            "id": case.token,
            "image_url": reverse("readerstudy:image", args=[case.token]),
            "width": case.width,
            "height": case.height,
            "shown_labels": list(case.shown_labels),
            "pixel_spacing": spacing_payload({"display_window": case.display_window}),  # the ruler's mm
        },
        "answers": {},
        "flag": {"flagged": False, "comment": ""},
        "completed": False,
        "editable": False,
        "prev": position - 1 if position > 1 else None,
        "next": position + 1 if nxt else None,
        "prefetch": reverse("readerstudy:image", args=[nxt.token]) if nxt else None,
    }


def preview_study_payload(form: Form) -> dict[str, Any]:
    return {**study_reader_fields(form.study), "progress": {"done": 0, "total": 0, "current": 1}, "finished": False}
