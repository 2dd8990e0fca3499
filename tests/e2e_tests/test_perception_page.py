"""A researcher opens a study's statistics page in the browser, presses "Compute statistics" (a POST: the
GET only reads): it renders, its figures load, and a downloaded table parses. The statistics job runs
in-process (or in a worker that claimed it first)."""

import pandas as pd
import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from analysis.models import PerceptionStats
from jobs.execution import job_run
from readerstudy import builder, services
from tests.conftest import PASSWORD, wait_for_job
from tests.readerstudy_tests.factories import make_candidates

from .conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_statistics_page_renders_its_figures_load_and_a_csv_download_parses(
    live_server, page, settings, tmp_path, researcher, admin_user
):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    study = builder.study_create_from_candidates(
        title="Perception e2e", candidates=make_candidates(tmp_path / "src", n_pie=6, n_non=6),
        n_forms=1, cases_per_form=12, seed=3, created_by=admin_user,
    )  # fmt: skip
    services.study_grant(study=study, user=researcher)
    call_command("simulate_readers", "--study", str(study.pk), "--readers", "3", "--seed", "2")

    page.goto(live_server.url + f"/reports/perception/{study.pk}/")
    page.fill("input[name=username]", researcher.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("not-ready")).to_be_visible()
    assert not PerceptionStats.objects.filter(study=study).exists(), "opening the page (a GET) starts nothing"
    page.get_by_test_id("recompute").click()  # a POST with the CSRF token, then back to the page
    expect(page.get_by_test_id("recompute")).to_have_count(0)
    # Run the job here; when a worker of the test session (another browser test's) has claimed it first,
    # wait for that worker instead: either way the same runner computes it.
    job_id = PerceptionStats.objects.get(study=study).job_id
    job_run(job_id=job_id)
    assert wait_for_job(job_id, timeout=300).status == "succeeded"

    page.reload()
    expect(page.get_by_test_id("sentences").locator("li")).to_have_count(3)
    expect(page.get_by_test_id("simulated")).to_contain_text("R01")
    images = page.locator("#figures img.figure")
    expect(images).to_have_count(4)
    for k in range(4):
        images.nth(k).scroll_into_view_if_needed()
        loaded = images.nth(k).evaluate("img => img.complete && img.naturalWidth > 0")
        assert loaded, f"figure {k} did not load"
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "statistics", readme=True)
    # Every table but the published one sits under the collapsed "More"; its CSV links open with it.
    expect(page.get_by_test_id("csv-descriptive")).to_be_hidden()
    page.get_by_test_id("more-tables").locator("summary").click()
    with page.expect_download() as info:
        page.get_by_test_id("csv-descriptive").click()
    table = pd.read_csv(info.value.path())
    assert list(table["group"].unique()) == ["PIE", "non-PIE"] and table["n"].sum() == 3 * 12 * 3
