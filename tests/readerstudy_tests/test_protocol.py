"""Reading protocol: consent with a versioned text and a reader profile, practice cases kept out of every
export and analysis, and sessions whose washout gates the repeats."""

from datetime import timedelta

import pytest
from django.urls import reverse

from readerstudy import builder, consent, exports, services, sessions, training
from readerstudy.errors import NotAllowedError, ReaderStudyError
from readerstudy.models import Assignment, Case, CaseReading, ReaderConsent

from .conftest import answer_all
from .factories import make_png

pytestmark = pytest.mark.django_db
PROFILE = {"years_cxr": "7", "subspecialty": "Thoracic / chest", "training_level": "Fellow"}


@pytest.fixture
def protocol_study(artifacts, candidates, reader_a, admin_user, tmp_path):
    """A draft with 1 form of 6 cases + 2 hidden repeats, two sessions 30 days apart, a consent text and one
    practice case; reader A reads it (assigned after the sessions were set), then it opens."""
    study = builder.study_create_from_candidates(
        title="Protocol", candidates=candidates, n_forms=1, cases_per_form=6, repeat_cases=2, seed=3,
        created_by=admin_user,
    )  # fmt: skip
    sessions.study_sessions_set(study=study, sessions=2, washout_days=30)
    consent.consent_text_set(study=study, text="I agree to take part (version one).")
    training.practice_case_add(
        study=study, image=make_png(tmp_path / "practice.png", 99), shown_labels=["Effusion"],
        reference={"agree_label": "yes", "quality": 4, "difficulty": 2},
    )  # fmt: skip
    services.assignment_create(study=study, reader=reader_a)
    return services.study_open(study=study)


def _assignment(study, reader):
    return Assignment.objects.select_related("study").get(study=study, reader=reader)


def _through_entry(study, reader):
    a = _assignment(study, reader)
    consent.consent_agree(assignment=a, version=study.consent_version, profile=PROFILE)
    case = training.practice_next(a)
    training.practice_submit(
        assignment=a, practice_case=case, values={"agree_label": "no", "quality": 2, "difficulty": 5}
    )
    return _assignment(study, reader)


def test_a_reader_must_agree_and_practise_before_any_answer_is_taken(protocol_study, reader_a):
    a = _assignment(protocol_study, reader_a)
    first = Case.objects.get(pk=a.order[0])
    with pytest.raises(NotAllowedError, match="consent"):
        services.answers_submit(reader=reader_a, case=first, values={"quality": 3})
    consent.consent_agree(assignment=a, version=protocol_study.consent_version, profile=PROFILE)
    with pytest.raises(NotAllowedError, match="practice"):
        services.answers_submit(reader=reader_a, case=first, values={"quality": 3})


def test_the_profile_is_validated_field_by_field_with_the_field_named(protocol_study, reader_a):
    a = _assignment(protocol_study, reader_a)
    with pytest.raises(ReaderStudyError, match="Years reading chest X-rays: enter a whole number from 0 to 60") as e:
        consent.consent_agree(assignment=a, version=1, profile={**PROFILE, "years_cxr": "99"})
    assert set(e.value.errors) == {"years_cxr"}
    with pytest.raises(ReaderStudyError, match="Subspecialty: choose one of"):
        consent.consent_agree(assignment=a, version=1, profile={**PROFILE, "subspecialty": "Cardiology"})
    assert not ReaderConsent.objects.exists()


def test_a_changed_consent_text_makes_readers_agree_again_and_keeps_both_versions(protocol_study, reader_a):
    a = _assignment(protocol_study, reader_a)
    consent.consent_agree(assignment=a, version=1, profile=PROFILE)
    assert not consent.consent_needed(_assignment(protocol_study, reader_a))
    assert consent.consent_text_set(study=protocol_study, text="I agree to take part (version one).").version == 1
    consent.consent_text_set(study=protocol_study, text="Version two: we also keep reading times.")
    protocol_study.refresh_from_db()
    a = _assignment(protocol_study, reader_a)
    assert protocol_study.consent_version == 2 and consent.consent_needed(a)
    with pytest.raises(NotAllowedError, match="changed while you were reading"):
        consent.consent_agree(assignment=a, version=1, profile=PROFILE)
    with pytest.raises(NotAllowedError, match="changed while you were reading"):
        consent.consent_agree(assignment=a, version="two", profile=PROFILE)
    consent.consent_agree(assignment=a, version=2, profile={**PROFILE, "years_cxr": 8})
    texts = list(protocol_study.consent_texts.values_list("version", "text"))
    assert texts == [(1, "I agree to take part (version one)."), (2, "Version two: we also keep reading times.")]
    agreed = list(ReaderConsent.objects.filter(assignment=a).values_list("consent__version", "profile__years_cxr"))
    assert agreed == [(1, 7), (2, 8)]
    assert consent.study_profiles(study=protocol_study)["R01"]["consent_version"] == 2


def test_the_consent_page_shows_the_text_and_records_the_agreement(protocol_study, reader_a_client, reader_a):
    url = reverse("readerstudy:consent", args=[protocol_study.pk])
    assert reader_a_client.get(reverse("readerstudy:read_resume", args=[protocol_study.pk])).url == url
    page = reader_a_client.get(url).content.decode()
    assert "I agree to take part (version one)." in page and "Years reading chest X-rays" in page
    refused = reader_a_client.post(url, {**PROFILE, "version": 1})
    assert refused.status_code == 200 and "Tick the box" in refused.content.decode()
    done = reader_a_client.post(url, {**PROFILE, "version": 1, "agree": "1"})
    assert done.status_code == 302 and _assignment(protocol_study, reader_a).consent_version == 1


def test_practice_shows_the_reference_answer_and_never_reaches_exports(protocol_study, reader_a_client, reader_a):
    a = _assignment(protocol_study, reader_a)
    consent.consent_agree(assignment=a, version=1, profile=PROFILE)
    url = reverse("readerstudy:practice", args=[protocol_study.pk])
    page = reader_a_client.get(url).content.decode()
    assert "Practice case 1 of 1" in page
    token = training.practice_next(a).token
    feedback = reader_a_client.post(url, {"case": token, "q-agree_label": "no", "q-quality": "2", "q-difficulty": "5"})
    text = feedback.content.decode()
    assert feedback.status_code == 200 and "Reference answer" in text and "<b>4</b>" in text
    assert _assignment(protocol_study, reader_a).practice_done_at is not None
    answer_all(reader_a, protocol_study, upto=6)
    csv_text = exports.tidy_csv(study=protocol_study)
    assert token not in csv_text and "practice" not in csv_text.lower()
    assert csv_text.count("\r\n") - 1 == 6 * 3  # six cases x three questions, no practice row
    header = csv_text.splitlines()[0]
    assert "profile_years_cxr" in header and "consent_version" in header and "reader_a" not in csv_text


def test_repeats_wait_in_session_two_until_the_washout_has_passed(
    protocol_study, reader_a, reader_a_client, admin_client
):
    a = _through_entry(protocol_study, reader_a)
    assert a.session_starts == [1, 7]
    session_of = dict(Case.objects.filter(pk__in=a.order).values_list("id", "session"))
    repeats = set(Case.objects.filter(pk__in=a.order, repeat_of__isnull=False).values_list("id", flat=True))
    assert {session_of[c] for c in a.order[:6]} == {1} and set(a.order[6:]) == repeats
    answer_all(reader_a, protocol_study, upto=6)
    with pytest.raises(NotAllowedError, match="Session 2 is not open yet"):
        services.answers_submit(reader=reader_a, case=Case.objects.get(pk=a.order[6]), values={"quality": 3})
    page = reader_a_client.get(reverse("readerstudy:read_resume", args=[protocol_study.pk]))
    assert page.status_code == 200 and "Session 2 of 2 opens" in page.content.decode()
    dashboard = admin_client.get(reverse("readerstudy:dashboard", args=[protocol_study.pk])).content.decode()
    assert "<b>R01</b> (reader_a) finished session 1; session 2 opens" in dashboard
    nxt = reader_a_client.get(reverse("readerstudy:api-reader-next", args=[protocol_study.pk]))
    assert nxt.status_code == 409 and "Session 2 opens" in nxt.json()["detail"]
    gate = sessions.study_washout_waits(study=protocol_study)[a.pk]
    finished = CaseReading.objects.filter(assignment=a).latest("completed_at").completed_at
    assert gate.opens_at == finished + timedelta(days=30)
    # Move the clock: session 1 finished 31 days ago.
    CaseReading.objects.filter(assignment=a).update(completed_at=finished - timedelta(days=31))
    assert sessions.study_washout_waits(study=protocol_study) == {}
    answer_all(reader_a, protocol_study)
    assert CaseReading.objects.filter(assignment=a, completed_at__isnull=False).count() == 8


def test_sessions_need_repeats_and_a_draft(protocol_study, artifacts, candidates, admin_user):
    with pytest.raises(NotAllowedError, match="draft"):
        sessions.study_sessions_set(study=protocol_study, sessions=3, washout_days=28)
    plain = builder.study_create_from_candidates(title="No repeats", candidates=candidates, n_forms=1, cases_per_form=4)
    with pytest.raises(ReaderStudyError, match="this study has 0, too few for 2 sessions"):
        sessions.study_sessions_set(study=plain, sessions=2, washout_days=28)


def test_the_statistics_page_reports_answers_by_reader_experience(study, reader_a, reader_b, researcher_client):
    from django.core.management import call_command

    from analysis.models import PerceptionStats
    from jobs.execution import job_run

    consent.consent_text_set(study=study, text="Consent.")
    study.refresh_from_db()
    for reader, years in ((reader_a, "3"), (reader_b, "12")):
        a = _assignment(study, reader)
        consent.consent_agree(assignment=a, version=1, profile={**PROFILE, "years_cxr": years})
    call_command("simulate_readers", "--study", str(study.pk), "--seed", "4")
    researcher_client.post(reverse("analysis:perception", args=[study.pk]))
    assert job_run(job_id=PerceptionStats.objects.get(study=study).job.pk) == "succeeded"
    html = researcher_client.get(reverse("analysis:perception", args=[study.pk])).content.decode()
    assert 'data-table="experience_groups"' in html and "By reader experience" in html
    assert "0-4 y" in html and "&gt;=10 y" in html
    assert 'data-table="experience_model"' in html and "needs &gt;= 3 readers" in html
    rows = PerceptionStats.objects.get(study=study).summary["tables"]["experience_groups"]
    assert {r["experience"] for r in rows} == {"0-4 y", ">=10 y"} and sum(r["n_answers"] for r in rows) == 36


def test_a_study_can_ask_its_own_profile_fields_until_a_reader_has_agreed(protocol_study, reader_a, admin_client):
    url = reverse("readerstudy:protocol", args=[protocol_study.pk])
    fields = '[{"key": "board", "label": "Board certified", "kind": "choice", "options": ["yes", "no"]}]'
    admin_client.post(url, {"what": "profile_fields", "fields": fields})
    protocol_study.refresh_from_db()
    assert [f["key"] for f in consent.profile_fields(protocol_study)] == ["board"]
    bad = admin_client.post(url, {"what": "profile_fields", "fields": '[{"key": "x"}]'}, follow=True)
    assert "Profile field 1: needs a key, a label and a kind" in bad.content.decode()
    a = _assignment(protocol_study, reader_a)
    consent.consent_agree(assignment=a, version=1, profile={"board": "yes"})
    with pytest.raises(NotAllowedError, match="can no longer change"):
        consent.profile_fields_set(study=protocol_study, fields=[])
    assert consent.study_profiles(study=protocol_study)["R01"]["profile_board"] == "yes"
