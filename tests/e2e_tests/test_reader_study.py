"""A radiologist logs in, rates a whole form with mouse and keyboard, reloads mid-way, resumes and finishes;
the answers then appear in the export."""

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.conf import settings as django_settings
from PIL import Image, ImageFilter

from readerstudy import builder, exports, services
from readerstudy.design import Candidate
from readerstudy.models import Answer, Assignment
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(django_settings.VAR_DIR) / "e2e" / "reading_page.png"


def phantom(path: Path, seed: int, size: int = 384) -> Path:
    """A crude chest-radiograph look-alike (body, lungs, heart, spine, ribs), enough to judge the viewer by eye."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    body = ((x - 0.5) / 0.46) ** 2 + ((y - 0.55) / 0.6) ** 2 < 1
    img = np.where(body, 0.72, 0.05)
    lungs = np.zeros_like(img, dtype=bool)
    for cx in (0.3, 0.7):
        lungs |= ((x - cx) / 0.16) ** 2 + ((y - 0.5) / 0.3) ** 2 < 1
    img = np.where(lungs, 0.22, img)
    img = np.where(np.abs(x - 0.5) < 0.04, 0.85, img)  # spine
    ribs = (np.sin((y + 0.25 * np.abs(x - 0.5)) * 55) > 0.8) & lungs
    img = img + 0.12 * ribs
    img = np.where(((x - 0.56) / 0.14) ** 2 + ((y - 0.66) / 0.12) ** 2 < 1, 0.8, img)  # heart
    img = img + rng.normal(0, 0.02, img.shape) + 0.05 * seed / 6
    blurred = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8), mode="L").filter(ImageFilter.GaussianBlur(3))
    blurred.save(path)
    return path


@pytest.fixture
def open_study(settings, tmp_path, reader_a):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    labels = ["Cardiomegaly", "Effusion", "Pneumothorax", "Nodule", "Atelectasis", "Mass"]
    candidates = [
        Candidate(
            image_path=phantom(tmp_path / f"c{k}.png", k),
            source_image_id=f"img{k}.png",
            is_pie=k < 3,
            correlation=0.1 * k,
            shown_labels=[labels[k]],
        )
        for k in range(6)
    ]
    study = builder.study_create_from_candidates(
        title="PIE perception study",
        candidates=candidates,
        n_forms=1,
        cases_per_form=6,
        readers=[reader_a],
        instructions="Rate each image. Use the viewer tools as you would on a workstation.",
    )
    return services.study_open(study=study)


def wait_for_case(page, n, total=6):
    page.wait_for_function(
        f"document.getElementById('rs-pos').textContent === '{n}' && document.getElementById('rs-loading').hidden"
    )
    assert page.locator("[data-testid=position]").inner_text() == f"Case {n} of {total}"


def wait_saved(page):
    page.wait_for_function("document.getElementById('rs-status').textContent === 'All answers saved'")


def test_reader_rates_a_form_with_mouse_and_keyboard_resumes_after_reload_and_finishes(
    live_server, page, open_study, reader_a
):
    page.goto(live_server.url + "/study/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", reader_a.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("link", name="Start").click()
    page.click("#start")  # "Start reading" under the study's instructions
    wait_for_case(page, 1)

    # Case 1 with the mouse; the viewer tools too.
    q = page.locator(".rs-q")
    q.nth(0).get_by_text("Yes").click()
    q.nth(1).get_by_text("Very good").click()
    q.nth(2).get_by_text("Easy", exact=True).click()
    page.click("[data-tool=invert]")
    page.wait_for_selector("[data-tool=invert][aria-pressed=true]")
    before = page.inner_text("#rs-readout")
    page.mouse.move(500, 450)
    page.mouse.wheel(0, -400)
    page.mouse.down(button="right")
    page.mouse.move(560, 420)
    page.mouse.up(button="right")
    page.wait_for_function(
        f"document.getElementById('rs-readout').textContent.split('%')[0] !== {before.split('%')[0]!r}"
    )
    # zoomed by the wheel; the right-drag changed the window
    page.wait_for_function("!document.getElementById('rs-readout').textContent.includes('W 255')")
    assert "inverted" in page.inner_text("#rs-readout")
    page.click("[data-tool=reset]")
    page.click("#rs-save")
    wait_for_case(page, 2)

    # Case 2 with the keyboard only; then back and forward with the arrows.
    page.keyboard.press("y")
    page.keyboard.press("4")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    wait_for_case(page, 3)
    page.keyboard.press("ArrowLeft")
    wait_for_case(page, 2)
    assert page.is_checked(".rs-q[data-key=quality] input[value='4']")
    page.keyboard.press("ArrowRight")
    wait_for_case(page, 3)

    # Case 3: a missing answer is flagged, then two answers autosaved, reload, resume and finish.
    page.keyboard.press("Enter")
    page.wait_for_selector(".rs-q.has-error")
    assert "Please answer" in page.inner_text(".rs-q[data-key=agree_label] .rs-qerror")
    page.keyboard.press("n")
    page.keyboard.press("3")
    wait_saved(page)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    page.set_viewport_size({"width": 1280, "height": 720})  # a laptop
    page.wait_for_timeout(200)
    page.screenshot(path=str(SCREENSHOT.with_name("reading_page_laptop.png")))
    page.set_viewport_size({"width": 1440, "height": 900})
    page.reload()
    wait_for_case(page, 3)
    assert page.is_checked(".rs-q[data-key=agree_label] input[value=no]")
    assert page.is_checked(".rs-q[data-key=quality] input[value='3']")
    page.keyboard.press("5")  # the first unanswered question is active after the reload
    page.keyboard.press("Enter")
    wait_for_case(page, 4)

    for n in (4, 5, 6):
        page.keyboard.press("y")
        page.keyboard.press("3")
        page.keyboard.press("3")
        page.keyboard.press("Enter")
        if n < 6:
            wait_for_case(page, n + 1)
    page.wait_for_selector("[data-testid=done]")
    assert "you have finished" in page.inner_text("[data-testid=done]")

    # The export holds every answer, at the position the reader saw it.
    df = pd.read_csv(io.StringIO(exports.tidy_csv(study=open_study)))
    assert len(df) == 18 and set(df.reader) == {"R01"}
    wide = df.pivot(index="position", columns="question", values="value")
    assert wide.loc[1].to_dict() == {"agree_label": "yes", "quality": "4", "difficulty": "2"}
    assert wide.loc[2].to_dict() == {"agree_label": "yes", "quality": "4", "difficulty": "2"}
    assert wide.loc[3].to_dict() == {"agree_label": "no", "quality": "3", "difficulty": "5"}
    assert (wide.loc[[4, 5, 6], "quality"] == "3").all()
    order = Assignment.objects.get(study=open_study).order
    assert df.sort_values("position").drop_duplicates("position").case_id.tolist() == order
    assert df.client_active_seconds.max() > 0


@pytest.mark.console_errors_expected  # the 500 and 403 it provokes are logged by the browser
def test_reader_answers_survive_a_server_error_and_an_expired_session(live_server, page, open_study, reader_a):
    page.goto(live_server.url + "/study/")
    page.fill("input[name=username]", reader_a.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("link", name="Start").click()
    page.click("#start")  # "Start reading" under the study's instructions
    wait_for_case(page, 1)
    pending = f"localStorage.getItem('rs-pending-{reader_a.pk}-{open_study.pk}')"

    # A 500 says nothing about the answer: it stays queued and the retry saves it once the server is back.
    def fail(route):
        route.fulfill(status=500, content_type="application/json", body='{"detail": "Server error"}')

    page.route("**/study/api/answers/", fail)
    page.locator(".rs-q").nth(0).get_by_text("Yes").click()
    page.wait_for_function("document.getElementById('rs-status').textContent.includes('Trying again in 3 s')")
    assert "agree_label" in page.evaluate(pending)
    page.unroute("**/study/api/answers/", fail)
    wait_saved(page)
    assert page.evaluate(pending) is None

    # Signed out (the API answers 403): the answer is kept on the device, not dropped.
    page.context.clear_cookies()
    page.locator(".rs-q").nth(1).get_by_text("Good", exact=True).click()
    page.wait_for_function("document.getElementById('rs-status').textContent.includes('signed out')")
    assert '"quality":3' in page.evaluate(pending)
    assert Answer.objects.filter(question__key="quality").count() == 0
