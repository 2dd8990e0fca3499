"""Browser tests: Playwright driving Debian's chromium against pytest-django's live server.

Never `playwright install` (no downloads here): the system chromium is launched by path.
"""

import io
import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings

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
def page(browser, request):
    """A fresh browser tab. Every console error and uncaught exception on any page it visits fails the test,
    unless the test is marked `console_errors_expected` (it provokes failed requests on purpose)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: uncaught {exc}"))
    yield page
    context.close()
    if request.node.get_closest_marker("console_errors_expected") is None:
        assert errors == [], "browser console errors:\n" + "\n".join(errors)


# Elements wider than the window, or sticking out of it on the right: what makes a page scroll sideways.
OVERFLOW_JS = """() => {
  const vw = document.documentElement.clientWidth, sw = document.documentElement.scrollWidth, bad = [];
  if (sw > vw + 1) bad.push("page is " + sw + " px wide");
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || el.closest(".scroll-x")) continue;
    if (r.right > vw + 1 || r.left < -1) bad.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
      (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : "") +
      " spans " + Math.round(r.left) + ".." + Math.round(r.right));
  }
  return bad;
}"""


def horizontal_overflow(page) -> list[str]:
    """What sticks out sideways on the current page (empty when nothing does)."""
    return page.evaluate(OVERFLOW_JS)


README_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img"


def screenshot(page, name: str, *, readme: bool = False, full_page: bool = False) -> Path:
    """Save a screenshot under var/e2e/; a `readme` one, with UPDATE_SCREENSHOTS=1, also as the README's
    docs/img/<name>.png, reduced to 256 colours so it stays small (under ~150 KB)."""
    from PIL import Image

    folder = Path(django_settings.VAR_DIR) / "e2e"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    png = page.screenshot(path=str(path), full_page=full_page)
    if readme and os.environ.get("UPDATE_SCREENSHOTS") == "1":
        image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        README_IMAGES.mkdir(parents=True, exist_ok=True)
        image.save(README_IMAGES / f"{name}.png", optimize=True)
    return path
