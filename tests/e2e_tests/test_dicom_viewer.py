"""The reading page shows RG1_UNCR.dcm (a real 15-bit MONOCHROME1 chest radiograph from pydicom-data) inverted
as the standard says, at the file's window, and its window/level works on the full depth: a window 200 grey
values wide still spreads over the whole display range, which an 8-bit rendering cannot do."""

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from readerstudy import builder, services
from readerstudy.design import Candidate
from readerstudy.models import Assignment, Case
from tests.conftest import PASSWORD

from .conftest import horizontal_overflow, screenshot
from .test_reader_study import phantom

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
RG1 = Path(get_testdata_file("RG1_UNCR.dcm", download=False))
POINTS = [(300, 400), (900, 1000), (1500, 700), (920, 1800), (50, 50), (1200, 1300), (600, 1500)]  # (x, y)
PIXELS_JS = """([points]) => {
  const v = document.getElementById('rs-canvas').cxrViewer;
  const ctx = v.view.getContext('2d');
  const grey = points.map(([x, y]) => ctx.getImageData(x, y, 1, 1).data[0]);
  const block = ctx.getImageData(700, 900, 400, 400).data;
  const levels = new Set();
  for (let i = 0; i < block.length; i += 4) levels.add(block[i]);
  return { grey, levels: levels.size, depth: v.state().depth, width: v.ww, level: v.wl };
}"""


@pytest.fixture
def dicom_study(settings, tmp_path, reader_a):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    cands = [
        Candidate(image_path=RG1, source_image_id="rg1", is_pie=True, shown_labels=["No Finding"]),
        Candidate(image_path=phantom(tmp_path / "p.png", 1), source_image_id="p", is_pie=False, shown_labels=["Mass"]),
    ]
    study = builder.study_create_from_candidates(
        title="DICOM study", candidates=cands, n_forms=1, cases_per_form=2, readers=[reader_a]
    )
    return services.study_open(study=study)


def test_rg1_is_shown_inverted_at_its_window_and_window_level_uses_the_full_depth(
    live_server, page, dicom_study, reader_a
):
    raw = pydicom.dcmread(RG1).pixel_array.astype(np.float64)
    case = Case.objects.get(study=dicom_study, source_image_id="rg1")
    position = Assignment.objects.get(study=dicom_study).order.index(case.pk) + 1
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", reader_a.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if position == 2:  # the DICOM case comes second in this reader's order: rate the first one
        page.goto(f"{live_server.url}/study/{dicom_study.pk}/read/1/")
        page.wait_for_function("document.getElementById('rs-loading').hidden")
        for key in ("y", "3", "3", "Enter"):
            page.keyboard.press(key)
    else:
        page.goto(f"{live_server.url}/study/{dicom_study.pk}/read/1/")
    page.wait_for_function(
        f"document.getElementById('rs-pos').textContent === '{position}'"
        " && document.getElementById('rs-loading').hidden && document.getElementById('rs-canvas').cxrViewer.src16"
    )
    page.wait_for_timeout(300)  # the lookup table is applied on the next animation frame
    got = page.evaluate(PIXELS_JS, [POINTS])
    assert got["depth"] == 26479 - 874
    # The file's window (15000/30000), MONOCHROME1: grey = 255 * (1 - (raw - 0) / 30000), high raw = dark.
    expected = [np.clip(np.rint(255 * (1 - raw[y, x] / 30000)), 0, 255) for x, y in POINTS]
    assert np.abs(np.array(got["grey"]) - expected).max() <= 1, (got["grey"], expected)
    assert "W 30000  L 11479" in page.inner_text("#rs-readout")
    assert page.is_visible("[data-preset=file]") and page.get_attribute("[data-preset=file]", "aria-pressed") == "true"

    # A window 200 grey values wide around the block's median, set in the viewer's display units.
    stored = raw.max() + raw.min() - raw - raw.min()  # what the server stores: inverted, from 0
    center = float(np.median(stored[900:1300, 700:1100]))
    depth = got["depth"]
    page.evaluate(
        f"document.getElementById('rs-canvas').cxrViewer.setWindow({200 * 255 / depth}, {center * 255 / depth})"
    )
    page.wait_for_timeout(300)
    narrow = page.evaluate(PIXELS_JS, [POINTS])
    expected = [np.clip(np.rint((stored[y, x] - (center - 100)) / 200 * 255), 0, 255) for x, y in POINTS]
    assert np.abs(np.array(narrow["grey"]) - expected).max() <= 1, (narrow["grey"], expected)
    # 200 grey values of the file cover ~2 levels of an 8-bit rendering; at full depth they fill the display.
    assert narrow["levels"] > 150, narrow["levels"]
    assert "W 200" in page.inner_text("#rs-readout")
    # The file window comes back with its preset button.
    page.click("[data-preset=file]")
    page.wait_for_function("document.getElementById('rs-readout').textContent.includes('W 30000')")
    page.set_viewport_size({"width": 1024, "height": 768})
    page.wait_for_timeout(300)
    assert horizontal_overflow(page) == []
    screenshot(page, "dicom_rg1_1024")
