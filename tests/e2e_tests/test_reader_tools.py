"""The viewer's ruler and magnifier, used as a reader would (keys D and G, drags and pointer moves), and the
"which label do you disagree with" picker: none of them takes an answer key, breaks window/level, or keeps
the focus from the case."""

import math
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from readerstudy import builder, services
from readerstudy.builder import DISAGREE_QUESTION
from readerstudy.design import Candidate
from readerstudy.models import Question

from .test_reader_focus import answers, focused_id
from .test_reader_study import open_study as open_study  # the 6-case study fixture
from .test_reader_study import wait_for_case

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
RG1 = Path(get_testdata_file("RG1_UNCR.dcm", download=False))
SPACING = 0.2  # mm per pixel written into the test copies' PixelSpacing

VIEWER = "document.getElementById('rs-canvas').cxrViewer"
# The loupe's centre pixel and the windowed image pixel under the pointer (what the loupe should show there).
LOUPE_JS = f"""([x, y]) => {{
  const v = {VIEWER}, loupe = document.getElementById('rs-loupe');
  const c = loupe.getContext('2d').getImageData(loupe.width / 2 - 2, loupe.height / 2 - 2, 4, 4).data;
  const [ix, iy] = v.toImage(x, y);
  const s = v.view.getContext('2d').getImageData(Math.floor(ix) - 1, Math.floor(iy) - 1, 3, 3).data;
  const mean = (d) => {{ let t = 0; for (let i = 0; i < d.length; i += 4) t += d[i]; return t / (d.length / 4); }};
  return {{ loupe: mean(c), image: mean(s), zoom: parseFloat(loupe.dataset.zoom), scale: v.scale,
           left: parseFloat(loupe.style.left), top: parseFloat(loupe.style.top), size: loupe.offsetWidth }};
}}"""


@pytest.fixture
def spaced_study(settings, tmp_path, reader_a):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    cands = []
    for k in range(2):
        ds = pydicom.dcmread(RG1)
        ds.PixelSpacing = [SPACING, SPACING]
        path = tmp_path / f"rg{k}.dcm"
        ds.save_as(path, enforce_file_format=True)
        cands.append(Candidate(image_path=path, source_image_id=f"rg{k}", is_pie=k == 0, shown_labels=["Effusion"]))
    study = builder.study_create_from_candidates(
        title="Ruler study", candidates=cands, n_forms=1, cases_per_form=2, readers=[reader_a], instructions="Rate."
    )
    return services.study_open(study=study)


def log_in_and_start(page, live_server, reader, total=6):
    from tests.conftest import PASSWORD

    page.goto(live_server.url + "/study/")
    page.fill("input[name=username]", reader.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("link", name="Start").click()
    page.wait_for_selector(".rs-instructions")
    page.click("#start")
    wait_for_case(page, 1, total)


def stage_box(page):
    return page.locator("#rs-canvas").bounding_box()


def test_ruler_measures_in_pixels_and_mm_and_the_magnifier_follows_the_pointer_without_taking_keys(
    live_server, page, spaced_study, reader_a
):
    log_in_and_start(page, live_server, reader_a, total=2)
    page.wait_for_function(f"{VIEWER}.src16 && {VIEWER}.spacing")
    box = stage_box(page)
    a, b = (box["x"] + 200, box["y"] + 150), (box["x"] + 420, box["y"] + 390)

    page.keyboard.press("d")
    assert page.get_attribute("[data-tool=ruler]", "aria-pressed") == "true"
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move(*b, steps=5)
    page.mouse.up()
    ends = page.evaluate(
        f"([a, b]) => [{VIEWER}.toImage(a[0], a[1]), {VIEWER}.toImage(b[0], b[1])]",
        [[a[0] - box["x"], a[1] - box["y"]], [b[0] - box["x"], b[1] - box["y"]]],
    )
    px = math.dist(ends[0], ends[1])
    page.wait_for_function("document.getElementById('rs-measure').textContent !== ''")
    readout = page.inner_text("#rs-measure")
    assert readout == f"{round(px)} px · {px * SPACING:.1f} mm", readout
    assert px > 300  # fitted at about 0.4 screen px per image px: 311 screen px are ~700 image px

    # Shift-drag still sets window/level in ruler mode, and leaves the measurement alone.
    width = page.evaluate(f"{VIEWER}.ww")
    page.keyboard.down("Shift")
    page.mouse.move(box["x"] + 300, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + 360, box["y"] + 300, steps=3)
    page.mouse.up()
    page.keyboard.up("Shift")
    assert page.evaluate(f"{VIEWER}.ww") > width
    assert page.inner_text("#rs-measure") == readout

    # The magnifier: a loupe centred on the pointer, 3x the on-screen zoom, showing the windowed pixels.
    page.keyboard.press("g")
    assert page.get_attribute("[data-tool=magnifier]", "aria-pressed") == "true"
    page.keyboard.press("r")  # default window, so the comparison below is on a plain image
    at = (box["x"] + 330, box["y"] + 260)
    page.mouse.move(*at)
    page.wait_for_timeout(200)
    assert page.is_visible("#rs-loupe")
    got = page.evaluate(LOUPE_JS, [at[0] - box["x"], at[1] - box["y"]])
    assert got["zoom"] == pytest.approx(3 * got["scale"], rel=1e-3)
    centre = (got["left"] + got["size"] / 2, got["top"] + got["size"] / 2)
    assert centre == (at[0] - box["x"], at[1] - box["y"]), (got, box)
    assert abs(got["loupe"] - got["image"]) < 12, got
    page.keyboard.press("i")  # invert: the loupe shows it too
    page.mouse.move(at[0] + 1, at[1])
    page.mouse.move(*at)
    page.wait_for_timeout(200)
    inverted = page.evaluate(LOUPE_JS, [at[0] - box["x"], at[1] - box["y"]])
    assert abs(inverted["loupe"] - (255 - got["loupe"])) < 12, (got, inverted)

    # Answer keys still answer with both tools on; Enter saves; the next image starts without the line.
    for key in ("y", "3", "4", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 2, total=2)
    assert answers(reader_a, 1) == {"agree_label": "yes", "quality": 3, "difficulty": 4}
    assert page.evaluate(f"{VIEWER}.ruler") is None and page.inner_text("#rs-measure") == ""

    # The flag box keeps its focus rules: a click on the image (ruler on) ends the comment; D is not typed.
    page.click("#rs-flag-toggle")
    page.click("#rs-flag-comment")
    page.keyboard.type("Cut off")
    page.mouse.click(box["x"] + 250, box["y"] + 250)
    assert focused_id(page) != "rs-flag-comment"
    page.keyboard.press("d")
    page.keyboard.press("g")
    assert page.input_value("#rs-flag-comment") == "Cut off"
    assert page.get_attribute("[data-tool=ruler]", "aria-pressed") == "false"
    assert page.get_attribute("[data-tool=magnifier]", "aria-pressed") == "false"
    page.mouse.move(box["x"] + 300, box["y"] + 300)
    assert not page.is_visible("#rs-loupe")


def test_disagreed_labels_are_picked_by_mouse_or_keys_after_a_no_and_n_3_3_still_rates(
    live_server, page, open_study, reader_a
):
    for q in Question.objects.filter(study=open_study).exclude(key="agree_label").order_by("-order"):
        q.order += 1  # room for the picker right after the label question, as the study form puts it
        q.save(update_fields=["order"])
    Question.objects.create(study=open_study, order=2, **DISAGREE_QUESTION)
    log_in_and_start(page, live_server, reader_a)
    picker = "fieldset[data-key=disagree_labels]"
    assert not page.is_visible(picker)
    shown = page.inner_text("[data-testid=labels]")

    page.keyboard.press("n")
    assert page.is_visible(picker)
    assert page.locator(f"{picker} .rs-opt-text").all_inner_texts() == [shown, "A finding is missing"]
    page.locator(f"{picker} .rs-opt").first.click()
    assert focused_id(page) == "BODY"  # Enter stays Save & next
    for key in ("3", "3", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 2)
    assert answers(reader_a, 1) == {
        "agree_label": "no", "disagree_labels": {"labels": [shown], "missing": False}, "quality": 3, "difficulty": 3,
    }  # fmt: skip

    # Keys only: n, up to the picker, 2 ticks "a finding is missing", down, rate, save.
    for key in ("n", "ArrowUp", "2", "ArrowDown", "2", "5", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 3)
    assert answers(reader_a, 2)["disagree_labels"] == {"labels": [], "missing": True}
    assert (answers(reader_a, 2)["quality"], answers(reader_a, 2)["difficulty"]) == (2, 5)

    # A "no" with a tick, then "yes": the picker hides and its ticks are cleared on the server too.
    page.keyboard.press("n")
    page.locator(f"{picker} .rs-opt").first.click()
    page.keyboard.press("y")
    assert not page.is_visible(picker)
    for key in ("4", "4", "Enter"):
        page.keyboard.press(key)
    wait_for_case(page, 4)
    assert answers(reader_a, 3)["disagree_labels"] == {"labels": [], "missing": False}
