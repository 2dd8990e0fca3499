"""A wide table that scrolls inside its box says so: a hint above it while it is wider than the window."""

import pytest

from .test_study_admin import draft_study, login  # noqa: F401  (draft_study is a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_table_wider_than_the_window_shows_a_scroll_hint_and_loses_it_when_it_fits(
    live_server,
    page,
    admin_user,
    draft_study,  # noqa: F811
):
    login(page, live_server.url + "/", admin_user)
    page.wait_for_url("**/overview/")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(live_server.url + f"/study/{draft_study.pk}/dashboard/")
    table = page.locator(".scroll-x:has(#cases)")
    fits = page.evaluate(
        "() => { const b = document.querySelector('.scroll-x:has(#cases)');"
        " return b.scrollWidth <= b.clientWidth + 1; }"
    )
    assert fits
    assert page.locator(".scroll-hint:visible").count() == 0
    page.set_viewport_size({"width": 560, "height": 800})
    page.wait_for_selector(".scroll-hint:visible")
    hint = table.evaluate("b => b.previousElementSibling.textContent")
    assert "scroll the table sideways" in hint
    page.set_viewport_size({"width": 1440, "height": 900})
    page.wait_for_selector(".scroll-hint", state="hidden")
