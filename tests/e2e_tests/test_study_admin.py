"""An admin looks after a draft study in the browser: previews it as a reader (nothing saved), adds a reader,
opens it, and closes it only after confirming. Every page fits a 1024 px window."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from readerstudy import builder
from readerstudy.models import Answer, Assignment, CaseReading, Study
from tests.conftest import PASSWORD

from .conftest import horizontal_overflow
from .test_reader_study import phantom, wait_for_case

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(django_settings.VAR_DIR) / "e2e"


@pytest.fixture
def draft_study(settings, tmp_path, reader_a, reader_b):
    from readerstudy.design import Candidate

    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    candidates = [
        Candidate(phantom(tmp_path / f"c{k}.png", k), f"img{k}.png", is_pie=k < 4, shown_labels=["Effusion"])
        for k in range(8)
    ]
    return builder.study_create_from_candidates(
        title="Draft study", candidates=candidates, n_forms=2, cases_per_form=4, readers=[reader_a]
    )


def login(page, url, user):
    page.goto(url)
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_admin_previews_adds_a_reader_opens_and_confirms_closing(live_server, page, draft_study, admin_user, reader_b):
    page.set_viewport_size({"width": 1024, "height": 768})
    login(page, f"{live_server.url}/study/{draft_study.pk}/dashboard/", admin_user)
    expect(page.get_by_test_id("admin-actions")).to_be_visible()
    assert horizontal_overflow(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard_draft_1024.png"), full_page=True)

    # Preview: the reading page, read-only; the arrows walk through the form and nothing is written.
    page.get_by_test_id("preview").click()
    expect(page.get_by_test_id("preview-banner")).to_be_visible()
    wait_for_case(page, 1, total=4)
    expect(page.locator("#rs-status")).to_have_text("Preview: answers are not saved.")
    page.keyboard.press("y")
    page.keyboard.press("ArrowRight")
    wait_for_case(page, 2, total=4)
    assert horizontal_overflow(page) == []
    page.screenshot(path=str(SHOTS / "preview_1024.png"))
    assert not Answer.objects.exists() and not CaseReading.objects.exists()
    page.get_by_role("link", name="Back to the dashboard").click()

    # Add reader_b: they get the form nobody reads yet.
    page.locator("#readers-edit").get_by_label(reader_b.username).check()
    page.get_by_role("button", name="Update readers").click()
    expect(page.locator(".messages")).to_contain_text("added reader_b (form 2)")
    assert Assignment.objects.get(study=draft_study, reader=reader_b).form.number == 2

    page.get_by_role("button", name="Open study").click()
    expect(page.locator(".messages")).to_contain_text("is now open")

    # Closing asks first: dismissing keeps the study open, accepting closes it.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Close study").click()
    page.wait_for_timeout(300)
    assert Study.objects.get(pk=draft_study.pk).status == "open"
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Close study").click()
    expect(page.locator(".messages")).to_contain_text("is now closed")
    assert Study.objects.get(pk=draft_study.pk).status == "closed"
