"""The report page's "who is forgotten" sections in chromium at 1024 px: each section renders with its
sentences, its figures load, nothing sticks out sideways, and a section CSV downloads and parses."""

import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.analysis_tests.test_django_who_pages import computed, report  # noqa: F401 -- fixtures
from tests.conftest import PASSWORD

from .conftest import horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_who_sections_render_at_1024_px_with_figures_and_downloads(live_server, browser, report, researcher):  # noqa: F811
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server.url + f"/reports/{report.pk}/")
    page.fill("input[name=username]", researcher.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    for key in ("subgroups", "calibration", "uncertainty"):
        section = page.get_by_test_id(f"who-{key}")
        expect(section).to_be_visible()
        assert section.locator("p.who-sentence").count() >= 1
        for img in section.locator("img.figure").all():
            # The figures load lazily: scrolling one into view starts its request; wait until it has ended.
            img.scroll_into_view_if_needed()
            page.wait_for_function("i => i.complete", arg=img.element_handle(), timeout=10_000)
            assert img.evaluate("i => i.naturalWidth > 0"), f"a {key} figure did not load: {img.get_attribute('src')}"
    assert "nan" not in page.get_by_test_id("who-subgroups").inner_text().lower().split()
    assert horizontal_overflow(page) == []
    page.get_by_test_id("who-subgroups").scroll_into_view_if_needed()
    screenshot(page, "who_subgroups_1024")
    with page.expect_download() as info:
        page.get_by_test_id("who-subgroups").get_by_role("link", name="subgroup_gaps.csv").click()
    gaps = pd.read_csv(info.value.path())
    assert {"gap", "gap_ci_lo", "gap_ci_hi", "change_from_dense", "seeds_p"} <= set(gaps.columns)
    context.close()
    assert errors == []
