"""A reader goes through the whole reading protocol in the browser: consent with their profile, the practice
case with its reference answer, session 1, the washout (the clock moved by the test), session 2 with the hidden
repeats; the researcher's dashboard shows the wait; the export and the statistics then carry the profile and
no practice answer. Every new page is checked at 1024 px for sideways overflow."""

from datetime import timedelta

import pytest

from analysis.core.perception.experience import protocol_tables
from analysis.perception.inputs import study_tidy_frame
from readerstudy import builder, consent, exports, services, sessions, training
from readerstudy.models import Assignment, CaseReading, PracticeAnswer
from tests.conftest import PASSWORD

from .conftest import horizontal_overflow, screenshot
from .test_reader_study import phantom

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CONSENT = "You rate chest X-rays for a study of pruned networks. Your ratings are stored under a pseudonym."


@pytest.fixture
def protocol_study(settings, tmp_path, reader_a, admin_user):
    from readerstudy.design import Candidate

    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    labels = ["Cardiomegaly", "Effusion", "Pneumothorax", "Nodule", "Atelectasis", "Mass"]
    candidates = [
        Candidate(image_path=phantom(tmp_path / f"c{k}.png", k), source_image_id=f"img{k}.png", is_pie=k < 3,
                  correlation=0.1 * k, shown_labels=[labels[k]])
        for k in range(6)
    ]  # fmt: skip
    study = builder.study_create_from_candidates(
        title="Protocol study", candidates=candidates, n_forms=1, cases_per_form=4, repeat_cases=2, seed=5,
        created_by=admin_user,
    )  # fmt: skip
    sessions.study_sessions_set(study=study, sessions=2, washout_days=28)
    consent.consent_text_set(study=study, text=CONSENT)
    training.practice_case_add(
        study=study, image=phantom(tmp_path / "practice.png", 9), shown_labels=["Effusion"],
        reference={"agree_label": "yes", "quality": 4, "difficulty": 2}, explanation="A clear basal effusion.",
    )  # fmt: skip
    services.assignment_create(study=study, reader=reader_a)
    return services.study_open(study=study)


def login(page, base, user):
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def no_overflow_at_1024(page, name):
    size = page.viewport_size
    page.set_viewport_size({"width": 1024, "height": 768})
    page.wait_for_timeout(100)
    assert horizontal_overflow(page) == [], page.url
    screenshot(page, f"protocol_{name}_1024", full_page=True)
    page.set_viewport_size(size)


def rate_by_keyboard(page, n, total):
    page.wait_for_function(
        f"document.getElementById('rs-pos').textContent === '{n}' && document.getElementById('rs-loading').hidden"
    )
    assert page.locator("[data-testid=position]").inner_text() == f"Case {n} of {total}"
    for key in ("y", "3", "3", "Enter"):
        page.keyboard.press(key)


def test_reader_passes_consent_practice_session_one_washout_and_session_two(
    live_server, page, browser, protocol_study, reader_a, admin_user
):
    base, pk = live_server.url, protocol_study.pk
    login(page, base, reader_a)
    page.goto(f"{base}/study/{pk}/")
    # Consent and profile.
    page.wait_for_selector("[data-testid=consent]")
    assert CONSENT in page.inner_text("[data-testid=consent-text]") and "version 1" in page.inner_text("h2")
    no_overflow_at_1024(page, "consent")
    page.fill("#pf-years_cxr", "7")
    page.select_option("#pf-subspecialty", "Thoracic / chest")
    page.select_option("#pf-training_level", "Fellow")
    page.click("#consent-submit")  # the box is not ticked yet
    assert "Tick the box" in page.inner_text("[data-testid=consent]")
    assert page.input_value("#pf-years_cxr") == "7"  # what was typed is kept
    page.check("#agree")
    page.click("#consent-submit")

    # The practice case, marked as such, then its reference answer.
    page.wait_for_selector("[data-testid=practice-banner]")
    assert "Practice case 1 of 1" in page.inner_text("[data-testid=practice-banner]")
    no_overflow_at_1024(page, "practice")
    page.check("input[name=q-agree_label][value=no]")
    page.check("input[name=q-quality][value='2']")
    page.check("input[name=q-difficulty][value='5']")
    page.click("#practice-submit")
    feedback = page.inner_text("[data-testid=practice-feedback]")
    assert "Reference" in feedback and "A clear basal effusion." in page.content()
    no_overflow_at_1024(page, "feedback")
    page.click("#practice-next")

    # Session 1: the four original cases; then the washout page.
    for n in range(1, 5):
        rate_by_keyboard(page, n, 6)
    page.wait_for_selector("[data-testid=washout]")
    assert "Session 2 of 2 opens" in page.inner_text("[data-testid=washout]")
    no_overflow_at_1024(page, "washout")

    # The researcher's dashboard lists the reader as waiting.
    other = browser.new_context(viewport={"width": 1024, "height": 768})
    admin = other.new_page()
    login(admin, base, admin_user)
    admin.goto(f"{base}/study/{pk}/dashboard/")
    assert "R01" in admin.inner_text("[data-testid=washout-waits]")
    assert "finished session 1; session 2 opens" in admin.inner_text("[data-testid=washout-waits]")
    assert horizontal_overflow(admin) == []
    admin.goto(f"{base}/study/{pk}/protocol/")
    assert "v1" in admin.inner_text("[data-testid=protocol-consent]") and horizontal_overflow(admin) == []

    # Move the clock: session 1 was finished 29 days ago.
    assignment = Assignment.objects.get(study=protocol_study, reader=reader_a)
    for reading in CaseReading.objects.filter(assignment=assignment, completed_at__isnull=False):
        reading.completed_at -= timedelta(days=29)
        reading.save(update_fields=["completed_at"])
    admin.goto(f"{base}/study/{pk}/dashboard/")
    assert "Nobody is waiting now" in admin.inner_text("[data-testid=washout-waits]")
    other.close()

    # Session 2: the two hidden repeats, then done.
    page.goto(f"{base}/study/{pk}/read/")
    for n in (5, 6):
        rate_by_keyboard(page, n, 6)
    page.wait_for_url(f"**/study/{pk}/done/")

    # The export: the profile by pseudonym, every real answer, no practice answer.
    assert PracticeAnswer.objects.filter(assignment=assignment).count() == 1
    text = exports.tidy_csv(study=protocol_study)
    lines = text.strip().split("\r\n")
    header = lines[0].split(",")
    assert len(lines) - 1 == 6 * 3
    assert {"consent_version", "profile_years_cxr", "profile_subspecialty", "profile_training_level"} <= set(header)
    col = header.index("profile_years_cxr")
    assert {line.split(",")[col] for line in lines[1:]} == {"7"}
    practice_token = protocol_study.practice_cases.get().token
    assert practice_token not in text and reader_a.username not in text
    # The statistics: the reader's experience group, and the repeats read 29 days apart.
    tables = protocol_tables(study_tidy_frame(study=protocol_study))
    assert set(tables["experience_groups"]["experience"]) == {"5-9 y"}
    assert tables["experience_groups"]["n_answers"].sum() == 4 * 3  # the four originals; no practice, no repeats
    gaps = tables["repeat_gaps"].set_index("reader").loc["R01"]
    assert gaps["n_pairs"] == 2 and 28.9 < gaps["min_gap_days"] <= gaps["max_gap_days"] < 29.2
