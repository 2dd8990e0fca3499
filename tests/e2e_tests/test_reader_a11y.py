"""The reading page at 1024x768 (a small laptop) passes an automated contrast and font-size check (WCAG AA:
4.5:1 for normal text, 3:1 for large; no text under 12 px), and Q3's answers are not hidden under the footer
while the flag box is open. The check is a small equivalent of axe-core's color-contrast rule (no downloads
here): every visible text node's colour against the background it is painted on, alpha-blended upwards."""

import pytest

from . import test_reader_study
from .test_reader_focus import log_in_and_start

open_study = test_reader_study.open_study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TEXT_CHECK_JS = """(root) => {
  const parse = (c) => {
    const m = c.match(/[\\d.]+/g) || [0, 0, 0, 0];
    return [+m[0], +m[1], +m[2], m[3] === undefined ? 1 : +m[3]];
  };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const over = (top, under) => top.slice(0, 3).map((v, i) => v * top[3] + under[i] * (1 - top[3]));
  function background(el) {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
    }
    let rgb = [255, 255, 255];
    for (const layer of layers.reverse()) rgb = over(layer, rgb);
    return rgb;
  }
  const bad = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    const skip = "[hidden], script, style, canvas, noscript, details:not([open]) > :not(summary)";
    if (!node.textContent.trim() || !el || el.closest(skip)) continue;
    const r = el.getBoundingClientRect(), st = getComputedStyle(el);
    if (!r.width || !r.height || st.visibility === "hidden" || st.display === "none") continue;
    if (el.closest("button:disabled, input:disabled")) continue;  // inactive controls are exempt (WCAG 1.4.3)
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= parseFloat(getComputedStyle(e).opacity);
    const fg = parse(st.color), bg = background(el);
    fg[3] *= opacity;
    const a = lum(over(fg, bg)), b = lum(bg);
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const large = size >= 24 || (bold && size >= 18.66);
    const cls = el.className ? "." + String(el.className).split(" ")[0] : "";
    const what = `${el.tagName.toLowerCase()}${cls} "${node.textContent.trim().slice(0, 30)}"`;
    if (size < 12) bad.push(`${what}: ${size.toFixed(1)} px`);
    if (ratio < (large ? 3 : 4.5)) bad.push(`${what}: contrast ${ratio.toFixed(2)}:1`);
  }
  return bad;
}"""


def text_problems(page) -> list[str]:
    return page.evaluate(f"({TEXT_CHECK_JS})(document.body)")


def test_reading_page_at_1024x768_passes_contrast_and_font_size_and_q3_stays_reachable_with_the_flag_box_open(
    live_server, page, open_study, reader_a
):
    page.set_viewport_size({"width": 1024, "height": 768})
    log_in_and_start(page, live_server, reader_a)
    page.keyboard.press("y")
    page.wait_for_function("document.getElementById('rs-status').textContent === 'All answers saved'")
    page.wait_for_timeout(400)  # the colour transitions have ended
    problems = text_problems(page)
    assert problems == [], "\n".join(problems)
    anchors = page.eval_on_selector_all(
        ".rs-likert .rs-opt-text", "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert anchors and min(anchors) >= 12

    # The flag box open (comment and hint shown): Q3's answers can still be seen and clicked, not covered.
    page.click("#rs-flag-toggle")
    page.wait_for_selector("#rs-flag-comment:visible")
    page.wait_for_timeout(400)
    assert text_problems(page) == []
    last = page.locator(".rs-q").nth(2)
    last.locator(".rs-opt").nth(4).scroll_into_view_if_needed()
    covered = page.evaluate("""() => {
      const opts = [...document.querySelectorAll('.rs-q')][2].querySelectorAll('.rs-opt');
      return [...opts].filter((o) => { const r = o.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return !hit || !o.contains(hit); }).length;
    }""")
    assert covered == 0
    last.locator(".rs-opt").nth(4).click()
    assert last.locator("input").nth(4).is_checked()
