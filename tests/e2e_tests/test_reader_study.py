"""A radiologist logs in, rates a whole form with mouse and keyboard, reloads mid-way, resumes and finishes;
the answers then appear in the export."""

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.conf import settings as django_settings
from PIL import Image

from readerstudy import exports, services
from readerstudy.design import Candidate
from readerstudy.models import Assignment
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(django_settings.VAR_DIR) / "e2e" / "reading_page.png"


def phantom(path: Path, seed: int, size: int = 384) -> Path:
    """A crude chest-radiograph look-alike (body, lungs, heart, ribs), enough to judge the viewer by eye."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    img = 0.55 + 0.25 * np.exp(-((x - 0.5) ** 2) / 0.08)
    for cx in (0.32, 0.68):
        img -= 0.4 * (((x - cx) / 0.15) ** 2 + ((y - 0.5) / 0.3) ** 2 < 1)
    img += 0.35 * (((x - 0.55) / 0.12) ** 2 + ((y - 0.62) / 0.12) ** 2 < 1)
    img += 0.06 * (np.sin(y * 60 + np.abs(x - 0.5) * 12) > 0.85)
    img += rng.normal(0, 0.03, img.shape)
    Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8), mode="L").save(path)
    return path


@pytest.fixture
def open_study(settings, tmp_path, reader_a):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    labels = ["Cardiomegaly", "Effusion", "Pneumothorax", "Nodule", "Atelectasis", "Mass"]
    candidates = [
        Candidate(image_path=phantom(tmp_path / f"c{k}.png", k), source_image_id=f"img{k}.png", is_pie=k < 3,
                  correlation=0.1 * k, shown_labels=[labels[k]])  # fmt: skip
        for k in range(6)
    ]
    study = services.study_create_from_candidates(
        title="PIE perception study", candidates=candidates, n_forms=1, cases_per_form=6, readers=[reader_a],
        instructions="Rate each image. Use the viewer tools as you would on a workstation.",
    )  # fmt: skip
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
    wait_for_case(page, 1)

    # Case 1 with the mouse; the viewer tools too.
    q = page.locator(".rs-q")
    q.nth(0).get_by_text("Yes").click()
    q.nth(1).get_by_text("Very good").click()
    q.nth(2).get_by_text("Easy", exact=True).click()
    page.click("[data-tool=invert]")
    assert page.get_attribute("[data-tool=invert]", "aria-pressed") == "true"
    page.mouse.move(500, 450)
    page.mouse.wheel(0, -400)
    page.mouse.down(button="right")
    page.mouse.move(560, 420)
    page.mouse.up(button="right")
    readout = page.inner_text("#rs-readout")
    assert "inverted" in readout and not readout.startswith("100%")
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
