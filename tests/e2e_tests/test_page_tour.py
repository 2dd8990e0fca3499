"""Every page an admin reaches from the menu, at a small laptop's 1024 px: nothing sticks out sideways,
and the browser console stays clean (the page fixture fails the test on any console error)."""

import pytest

from .conftest import horizontal_overflow, screenshot
from .test_study_admin import draft_study, login  # noqa: F401  (draft_study is a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = [
    "/overview/", "/experiments/", "/experiments/new/", "/datasets/", "/datasets/register/", "/jobs/",
    "/reports/", "/reports/new/", "/study/", "/study/new/",
]  # fmt: skip


def test_every_menu_page_fits_1024_px_without_console_errors(live_server, page, admin_user, draft_study):  # noqa: F811
    page.set_viewport_size({"width": 1024, "height": 768})
    login(page, live_server.url + "/", admin_user)
    page.wait_for_url("**/overview/")
    problems = {}
    for path in [*PAGES, f"/study/{draft_study.pk}/dashboard/", f"/study/{draft_study.pk}/preview/1/1/"]:
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        screenshot(page, "tour" + path.rstrip("/").replace("/", "_"), full_page=True)  # var/e2e/, to look at
        if overflow := horizontal_overflow(page):
            problems[path] = overflow[:3]
    assert problems == {}
