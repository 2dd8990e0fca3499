"""An admin logs in, starts the self-check job in the browser and watches a real worker finish it: the
progress bar and status badge update by polling, and the finished page shows the worker's report."""

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_admin_starts_selfcheck_and_watches_the_real_worker_finish_it(live_server, page, celery_worker, admin_user):
    page.goto(live_server.url + "/")
    page.fill("input[name=username]", admin_user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(live_server.url + "/overview/")  # the admin's home
    page.get_by_role("link", name="Jobs").click()

    page.select_option("select[name=kind]", "selfcheck")
    page.get_by_role("button", name="Start job").click()
    # The job's page (the "Started job" message can be gone already: the page reloads when a quick job ends).
    expect(page.locator("h1")).to_contain_text("Self-check (torch version, device)")

    # The detail page polls /jobs/status.json and reloads when the job finishes.
    expect(page.get_by_test_id("job-result")).to_contain_text("2.14.1", timeout=60_000)
    expect(page.locator('[data-field="status"]').first).to_have_text("succeeded")
    expect(page.locator('[data-field="bar"]').first).to_have_attribute("style", "width: 100%")
    expect(page.locator("button", has_text="Cancel")).to_have_count(0)

    page.goto(live_server.url + "/jobs/")
    expect(page.locator("#jobs tbody tr").first).to_contain_text("succeeded")
