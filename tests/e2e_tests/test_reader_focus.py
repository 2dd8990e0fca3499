"""The flag box never swallows the reading keys (issue 23's bug sequences, typed as a reader would), and the
window/level a reader sets on one image does not carry over to the next unless the study keeps it."""

import pytest

from readerstudy.models import Answer, Assignment, CaseReading

from . import test_reader_study
from .test_reader_study import wait_for_case

open_study = test_reader_study.open_study  # the same 6-case study fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in_and_start(page, live_server, reader):
    from tests.conftest import PASSWORD

    page.goto(live_server.url + "/study/")
    page.fill("input[name=username]", reader.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("link", name="Start").click()
    page.wait_for_selector(".rs-instructions")  # the instructions come first
    page.click("#start")
    wait_for_case(page, 1)


def focused_id(page) -> str:
    return page.evaluate("document.activeElement ? (document.activeElement.id || document.activeElement.tagName) : ''")


def reading(reader, position) -> CaseReading:
    assignment = Assignment.objects.get(reader=reader)
    return CaseReading.objects.get(assignment=assignment, case_id=assignment.order[position - 1])


def answers(reader, position) -> dict:
    r = reading(reader, position)
    return dict(Answer.objects.filter(assignment=r.assignment, case=r.case).values_list("question__key", "value"))


def test_flag_comment_gives_up_the_keys_after_a_click_on_the_image_enter_or_an_unflag(
    live_server, page, open_study, reader_a
):
    log_in_and_start(page, live_server, reader_a)

    # Sequence 1: flag, type a comment, click the image; then y 4 2 Enter answer and save the case.
    page.click("#rs-flag-toggle")
    page.wait_for_selector("#rs-flag-comment:not([hidden])")
    assert focused_id(page) == "BODY", "after flagging, the focus goes back to the case"
    assert page.is_visible("#rs-flag-hint")
    page.click("#rs-flag-comment")
    page.keyboard.type("Left costophrenic angle cut off.")
    page.click("#rs-canvas")
    assert focused_id(page) != "rs-flag-comment"
    for key in ("y", "4", "2", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 2)
    first = reading(reader_a, 1)
    assert first.flagged and first.flag_comment == "Left costophrenic angle cut off."
    assert first.completed_at is not None
    assert len(answers(reader_a, 1)) == 3

    # Enter inside the box ends the comment (Shift+Enter is a new line), and the next keys answer the case.
    page.click("#rs-flag-toggle")
    page.click("#rs-flag-comment")
    page.keyboard.type("Rotated")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("and cropped")
    page.keyboard.press("Enter")
    assert focused_id(page) == "BODY"
    for key in ("n", "3", "3", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 3)
    second = reading(reader_a, 2)
    assert second.flagged and second.flag_comment == "Rotated\nand cropped"
    assert second.completed_at is not None

    # Sequence 2: flag and unflag; the reader answers 3, 3 and presses Enter, meaning Save & next.
    page.click("#rs-flag-toggle")
    page.wait_for_function("document.getElementById('rs-flag-status').textContent.includes('Flag saved')")
    page.click("#rs-flag-toggle")
    page.wait_for_selector("#rs-flag-comment", state="hidden")
    assert focused_id(page) == "BODY", "after unflagging, the focus goes back to the case"
    for key in ("y", "3", "3", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 4)
    third = reading(reader_a, 3)
    assert not third.flagged and third.completed_at is not None

    # With the keyboard: Enter on the focused flag button flags; the next Enter is Save & next (here refused,
    # since nothing is answered yet), never a second flag toggle.
    page.focus("#rs-flag-toggle")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('rs-flag-status').textContent.includes('Flag saved')")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('rs-status').textContent.startsWith('Answer every question')")
    assert page.get_attribute("#rs-flag-toggle", "aria-pressed") == "true"
    for key in ("y", "5", "1", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 5)
    fourth = reading(reader_a, 4)
    assert fourth.flagged and fourth.flag_comment == "" and fourth.completed_at is not None

    # After a click on Next, Enter saves the shown case; it does not press Next again.
    page.keyboard.press("ArrowLeft")
    wait_for_case(page, 4)
    page.click("#rs-next")
    wait_for_case(page, 5)
    for key in ("n", "2", "2", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 6)
    assert reading(reader_a, 5).completed_at is not None


def right_drag(page):
    page.mouse.move(500, 450)
    page.mouse.down(button="right")
    page.mouse.move(400, 200)
    page.mouse.up(button="right")


def test_window_level_resets_on_every_case_unless_the_study_keeps_it(live_server, page, open_study, reader_a):
    log_in_and_start(page, live_server, reader_a)
    right_drag(page)
    page.wait_for_function("!document.getElementById('rs-readout').textContent.includes('W 255')")
    assert page.is_hidden("[data-testid=window-kept]")
    for key in ("y", "4", "2", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 2)
    page.wait_for_function("document.getElementById('rs-readout').textContent.includes('W 255  L 128')")
    page.keyboard.press("l")
    page.keyboard.press("i")
    for key in ("y", "4", "2", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 3)
    page.wait_for_function("document.getElementById('rs-readout').textContent.includes('W 255  L 128')")
    assert "inverted" not in page.inner_text("#rs-readout")

    # The study keeps the window: it carries over, also across a reload, and the viewer says so.
    open_study.design = {**open_study.design, "keep_window": True}
    open_study.save(update_fields=["design"])
    page.reload()
    wait_for_case(page, 3)
    right_drag(page)
    page.wait_for_selector("[data-testid=window-kept]:visible")
    kept = page.inner_text("#rs-readout").split("·", 1)[1]
    for key in ("y", "4", "2", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 4)
    assert page.inner_text("#rs-readout").split("·", 1)[1] == kept
    assert page.is_visible("[data-testid=window-kept]")
    page.keyboard.press("r")
    page.wait_for_selector("[data-testid=window-kept]", state="hidden")


@pytest.mark.console_errors_expected  # the failed saves are logged by the browser
def test_offline_a_second_failed_save_says_not_saved_at_once_and_the_answers_go_out_when_back(
    live_server, page, open_study, reader_a
):
    log_in_and_start(page, live_server, reader_a)
    page.context.set_offline(True)
    page.keyboard.press("y")  # first failure: a retry in 3 s
    page.wait_for_function("document.getElementById('rs-status').textContent.startsWith('Not saved yet')")
    page.keyboard.press("4")  # second failure while that retry waits: the status must not stay "Saving…"
    page.wait_for_timeout(300)
    status = page.inner_text("#rs-status")
    assert status.startswith("Not saved yet — connection lost") and "Trying again in" in status, status
    page.context.set_offline(False)
    page.wait_for_function("document.getElementById('rs-status').textContent === 'All answers saved'", timeout=20_000)
    assert answers(reader_a, 1) == {"agree_label": "yes", "quality": 4}


def test_start_shows_the_study_instructions_before_case_1_and_resume_goes_straight_back(
    live_server, page, open_study, reader_a
):
    from tests.conftest import PASSWORD

    page.goto(live_server.url + "/study/")
    page.fill("input[name=username]", reader_a.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("link", name="Start").click()
    assert "Use the viewer tools as you would on a workstation." in page.inner_text(".rs-instructions")
    page.click("#start")
    wait_for_case(page, 1)
    for key in ("y", "4", "2", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 2)
    page.goto(live_server.url + "/study/")
    page.get_by_role("link", name="Resume").click()
    wait_for_case(page, 2)


def test_where_the_study_allows_it_u_answers_unable_to_assess_and_the_digits_stay_ratings(
    live_server, page, open_study, reader_a
):
    open_study.design = {**open_study.design, "allow_unable": True}
    open_study.save(update_fields=["design"])
    log_in_and_start(page, live_server, reader_a)
    assert page.locator(".rs-unable").count() == 3  # one per rated question
    for key in ("y", "u", "5", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 2)
    page.click(".rs-q:nth-child(3) .rs-unable")  # the mouse too (Q3)
    for key in ("n", "2", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 3)
    assert answers(reader_a, 1) == {"agree_label": "yes", "quality": "unable_to_assess", "difficulty": 5}
    assert answers(reader_a, 2) == {"agree_label": "no", "quality": 2, "difficulty": "unable_to_assess"}
