"""Browser tests: Playwright driving Debian's chromium against pytest-django's live server.

Never `playwright install` (no downloads here): the system chromium is launched by path.
"""

from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="package")
def browser():
    # `make test` installs Debian's chromium; a missing browser is a failed set-up, not a skipped test.
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed: run `make test` or `apt-get install chromium`"
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make around it
    # are still plain synchronous code, so Django's async-safety guard must not refuse them (here only).
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as p:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
