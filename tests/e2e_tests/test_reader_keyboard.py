"""A radiologist does everything with the keyboard: logs in, opens the study, picks a window preset that then
stays for the next images, flags a case with a comment, and rates the whole form. The reading page fits the
window at laptop and monitor widths and on a phone, and the researcher's flag export has the reader's note."""

import io

import pandas as pd
import pytest

from readerstudy import exports
from readerstudy.models import CaseReading
from tests.conftest import PASSWORD

from . import test_reader_study
from .conftest import horizontal_overflow, screenshot
from .test_reader_study import wait_for_case

open_study = test_reader_study.open_study  # the same 6-case study fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def readout(page) -> str:
    return page.inner_text("#rs-readout")


def test_reader_rates_a_whole_form_keyboard_only_with_a_persistent_window_and_a_flag(
    live_server, page, open_study, reader_a
):
    # This study keeps window/level from case to case (the default resets it: see test_reader_focus.py).
    open_study.design = {**open_study.design, "keep_window": True}
    open_study.save(update_fields=["design"])
    page.goto(live_server.url + "/study/")
    page.keyboard.type(reader_a.username)  # the username box has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=my-study]")
    page.focus("[data-testid=my-study] a.button")
    page.keyboard.press("Enter")
    page.wait_for_selector(".rs-instructions")  # the study's instructions before case 1
    page.focus("#start")
    page.keyboard.press("Enter")
    wait_for_case(page, 1)

    # Lung window by key; the toolbar shows it pressed, and it stays on the next image.
    page.keyboard.press("l")
    page.wait_for_function("document.getElementById('rs-readout').textContent.includes('W 160  L 96')")
    assert page.get_attribute("[data-preset=lung]", "aria-pressed") == "true"

    # Flag case 1: focus the flag button with the keyboard, then the comment box (Tab), say why, leave with Esc.
    page.focus("#rs-flag-toggle")
    page.keyboard.press("Enter")
    page.wait_for_selector("#rs-flag-comment:not([hidden])")
    page.focus("#rs-flag-toggle")
    page.keyboard.press("Tab")
    page.keyboard.type("Left costophrenic angle cut off")
    page.keyboard.press("Escape")
    page.wait_for_function("document.getElementById('rs-flag-status').textContent.includes('Flag saved')")

    for n in range(1, 7):
        if n > 1:
            wait_for_case(page, n)
            assert "W 160  L 96" in readout(page), f"the window was reset on case {n}"
        page.keyboard.press("y" if n % 2 else "n")
        page.keyboard.press(str(1 + n % 5))
        page.keyboard.press("3")
        if n == 3:
            page.keyboard.press("r")  # the default window for the pictures; the lung window comes back below
            # Every width from a small laptop up, and a phone: nothing sticks out sideways.
            for width, height in ((1024, 700), (1280, 720), (1440, 900), (390, 844)):
                page.set_viewport_size({"width": width, "height": height})
                page.wait_for_timeout(150)
                assert horizontal_overflow(page) == [], f"overflow at {width} px"
                if width == 1024:
                    screenshot(page, "reading_page_1024")
                if width == 1280:
                    screenshot(page, "reading_page", readme=True)
                if width == 390:
                    screenshot(page, "reading_page_phone", full_page=True)
            page.set_viewport_size({"width": 1440, "height": 900})
            page.keyboard.press("Escape")  # focus back to the page, not a toolbar button
            page.keyboard.press("l")
        page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=done]")

    reading = CaseReading.objects.get(assignment__reader=reader_a, flagged=True)
    assert reading.flag_comment == "Left costophrenic angle cut off"
    assert CaseReading.objects.filter(assignment__reader=reader_a, completed_at__isnull=False).count() == 6
    flags = pd.read_csv(io.StringIO(exports.flags_csv(study=open_study)))
    assert flags.to_dict("records")[0] | {"flagged_at": None} == {
        "study_id": open_study.pk,
        "reader": "R01",
        "form": 1,
        "position": 1,
        "case_id": reading.case_id,
        "source_image_id": reading.case.source_image_id,
        "is_pie": int(reading.case.is_pie),
        "comment": "Left costophrenic angle cut off",
        "flagged_at": None,
    }
