"""The whole story in the browser, on a tiny synthetic set and a real Celery worker:

an admin starts an experiment from "New experiment", watches it train, prune, select PIEs and write its
report, and builds a reader study from its PIE selection; a researcher opens the report and downloads a
table and figures, which parse. Screenshots of the overview, the experiment page and the report are kept
(small) for the README."""

import io
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import PASSWORD

from .conftest import horizontal_overflow, screenshot

pytest_plugins = ["tests.pruning_tests.django_support"]
pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def login(page, base, user):
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def download(page, link) -> bytes:
    with page.expect_download() as info:
        link.click()
    return Path(info.value.path()).read_bytes()


def test_admin_runs_an_experiment_builds_a_study_and_a_researcher_downloads_the_report(
    live_server, page, celery_worker, synthetic_dataset, admin_user, reader_a, researcher, settings, tmp_path
):
    from readerstudy.models import Study

    login(page, live_server.url, admin_user)
    expect(page).to_have_url(live_server.url + "/overview/")
    page.get_by_role("link", name="New experiment").first.click()

    page.select_option("select[name=dataset]", label="syn")
    page.fill("input[name=name]", "browser tiny")
    page.select_option("select[name=arch]", "tiny")
    for name, value in {"seeds": "0-1", "epochs": "1", "image_size": "32", "init": "random", "batch_size": "32",
                        "lr": "0.001", "patience": "3"}.items():  # fmt: skip
        page.fill(f"input[name={name}]", value)
    page.get_by_role("button", name="Create and start").click()
    expect(page.locator(".messages")).to_contain_text("started")
    expect(page.get_by_test_id("stages")).to_be_visible()

    # The Experiments list follows the pipeline job live (badge and bar update without a reload).
    page.get_by_role("link", name="Experiments").first.click()
    row = page.locator("#experiments tbody tr").first
    expect(row.locator("[data-field=status]")).to_have_text("running", timeout=60_000)
    expect(row.locator(".progress")).to_be_visible()
    screenshot(page, "experiments_list")
    row.get_by_role("link", name="browser tiny").click()

    # The page follows the jobs and reloads as each ends; the report link appears when the pipeline is done.
    expect(page.get_by_test_id("report-link")).to_be_visible(timeout=240_000)
    expect(page.locator("#jobs tr", has_text="Whole experiment").locator("[data-field=status]")).to_have_text(
        "succeeded", timeout=120_000
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    assert horizontal_overflow(page) == []
    screenshot(page, "experiment", readme=True)

    page.get_by_test_id("build-study").click()
    expect(page.locator("select[name=sel-selection]")).not_to_have_value("")
    page.fill("input[name=sel-n_forms]", "1")
    page.fill("input[name=sel-cases_per_form]", "4")
    page.get_by_role("button", name="Build study", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Created draft study")
    study = Study.objects.get()
    assert study.source["kind"] == "pie_selection" and study.cases.filter(is_pie=True).count() == 2
    assert list(study.assignments.values_list("reader__username", flat=True)) == [reader_a.username]

    page.goto(live_server.url + "/overview/")
    expect(page.locator("#overview-studies")).to_contain_text(study.title)
    screenshot(page, "overview", readme=True)

    # Reports are per owner (pruning.visibility): a researcher who neither owns the experiment nor is granted
    # a study built from it sees no report; once the admin adds them as the study's collaborator, they do.
    page.context.clear_cookies()
    login(page, live_server.url, researcher)
    page.get_by_role("link", name="Reports").first.click()
    expect(page.locator("#reports a")).to_have_count(0)
    study.collaborators.add(researcher)
    page.reload()
    # A granted researcher reads the report and downloads a table and a figure in two formats.
    page.locator("#reports a").first.click()
    expect(page.locator("#downloads")).to_be_visible()
    screenshot(page, "report", readme=True)
    table = download(page, page.locator("#downloads a[href$='.csv']").first)
    assert len(pd.read_csv(io.BytesIO(table))) > 0
    png = download(page, page.locator("#downloads a[href$='.png?download=1']").first)
    assert Image.open(io.BytesIO(png)).size[0] > 100
    pdf = download(page, page.locator("#downloads a[href$='.pdf']").first)
    assert pdf.startswith(b"%PDF") and b"%%EOF" in pdf[-64:]
