"""Holes found by the security audit (issue 10), one test each; every one failed before its fix."""

import csv
import io
import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from config.roles import READERS, RESEARCHERS
from readerstudy import builder, errors, exports, services
from readerstudy.models import Answer, Assignment, Case, CaseReading

from .conftest import answer_all
from .factories import with_assignment

pytestmark = pytest.mark.django_db
SUBMIT = reverse("readerstudy:api-answer-submit")


def first_case(study, reader) -> Case:
    return Case.objects.get(pk=Assignment.objects.get(study=study, reader=reader).order[0])


def submit(client, body):
    return client.post(SUBMIT, with_assignment(client, body), content_type="application/json")


def reader_surface(client, study, token) -> dict[str, int]:
    """Status of every reader request for `study` (pages, API, image, submit, viewed)."""
    pk = study.pk
    return {
        "intro": client.get(reverse("readerstudy:intro", args=[pk])).status_code,
        "read": client.get(reverse("readerstudy:read", args=[pk, 1])).status_code,
        "next": client.get(reverse("readerstudy:api-reader-next", args=[pk])).status_code,
        "case": client.get(reverse("readerstudy:api-reader-case", args=[pk, 1])).status_code,
        "viewed": client.post(reverse("readerstudy:api-reader-viewed", args=[pk, 1])).status_code,
        "image": client.get(reverse("readerstudy:image", args=[token])).status_code,
        "submit": submit(client, {"case": token, "answers": {"agree_label": "yes"}}).status_code,
    }


# --- 1. a researcher or admin cannot also read the same study --------------------------------------


def test_assignment_refuses_admins_owners_and_collaborators(study, admin_user, researcher, django_user_model):
    readers = Group.objects.get(name=READERS)
    for user in (admin_user, researcher):  # admin (staff), collaborator of `study`
        user.groups.add(readers)
        with pytest.raises(errors.ReaderStudyError, match="cannot (also )?read (it|any study) blinded"):
            services.assignment_create(study=study, reader=user)
    owner = django_user_model.objects.create_user("owner1", password="x" * 12)
    owner.groups.add(readers, Group.objects.get_or_create(name=RESEARCHERS)[0])
    study.created_by = owner
    study.save()
    with pytest.raises(errors.ReaderStudyError, match="cannot (also )?read (it|any study) blinded"):
        services.assignment_create(study=study, reader=owner)
    assert not Assignment.objects.filter(reader__in=[admin_user, researcher, owner]).exists()


def test_invite_reader_refuses_an_admin_or_researcher_account(study, admin_user, researcher):
    for user in (admin_user, researcher):
        with pytest.raises(CommandError, match="separate account"):
            call_command("invite_reader", user.username, "--study", str(study.pk), stdout=io.StringIO())
        assert not user.groups.filter(name=READERS).exists()


def test_a_reader_who_gains_researcher_access_can_no_longer_read(study, reader_a, reader_a_client):
    token = first_case(study, reader_a).token
    assert reader_surface(reader_a_client, study, token) == {
        "intro": 200, "read": 200, "next": 200, "case": 200, "viewed": 200, "image": 200, "submit": 200,
    }  # fmt: skip
    study.collaborators.add(reader_a)  # e.g. through the database or an older admin form: re-checked per request
    blocked = reader_surface(reader_a_client, study, token)
    assert blocked == {"intro": 404, "read": 404, "next": 404, "case": 404, "viewed": 404, "image": 404, "submit": 403}


def test_granting_a_reader_of_the_study_is_refused(study, reader_a):
    reader_a.groups.add(Group.objects.get_or_create(name=RESEARCHERS)[0])
    with pytest.raises(errors.ReaderStudyError, match="reads 'Small study' blinded"):
        services.study_grant(study=study, user=reader_a)
    assert not study.collaborators.filter(pk=reader_a.pk).exists()


# --- 7a. a reader removed from the readers group can no longer answer -------------------------------


def test_a_reader_removed_from_the_readers_group_can_no_longer_read_or_answer(study, reader_a, reader_a_client):
    token = first_case(study, reader_a).token
    reader_a.groups.clear()
    blocked = reader_surface(reader_a_client, study, token)
    assert blocked == {"intro": 404, "read": 404, "next": 404, "case": 404, "viewed": 404, "image": 404, "submit": 403}
    with pytest.raises(errors.NotAssignedError):
        services.answers_submit(reader=reader_a, case=first_case(study, reader_a), values={"agree_label": "yes"})
    assert not Answer.objects.exists()


# --- 2. answers queued in the browser belong to one user -------------------------------------------


def test_the_reading_page_keys_unsent_answers_by_user_and_assignment(study, reader_a, reader_a_client):
    html = reader_a_client.get(reverse("readerstudy:read", args=[study.pk, 1])).content.decode()
    start = html.index('id="rs-bootstrap"')
    data = json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])
    assignment = Assignment.objects.get(study=study, reader=reader_a)
    assert data["reader"] == {"pending_key": f"rs-pending-{reader_a.pk}-{study.pk}", "assignment": assignment.pk}


def test_answers_given_in_another_readers_assignment_are_refused(study, reader_a, reader_b, reader_b_client):
    """Reader A's queued answers sent from a shared computer under reader B's login: refused, not saved as B's,
    even for a case B also reads (here B is given A's form too)."""
    a_assignment = Assignment.objects.get(study=study, reader=reader_a)
    Assignment.objects.filter(study=study, reader=reader_b).update(form=a_assignment.form, order=a_assignment.order)
    token = Case.objects.get(pk=a_assignment.order[0]).token
    r = reader_b_client.post(
        SUBMIT,
        {"case": token, "assignment": a_assignment.pk, "answers": {"agree_label": "no"}},
        content_type="application/json",
    )
    assert r.status_code == 409 and "another reader's login" in r.json()["detail"]
    assert not Answer.objects.exists()
    r = reader_b_client.post(SUBMIT, {"case": token, "answers": {"agree_label": "no"}}, content_type="application/json")
    assert r.status_code == 400 and "assignment" in r.json()["errors"], "the assignment is required"


def test_logout_tells_the_browser_to_clear_stored_answers(reader_a_client):
    r = reader_a_client.post(reverse("logout"))
    assert r.status_code == 302 and r["Clear-Site-Data"] == '"storage"'


def test_reader_js_keys_the_store_by_user_and_clears_it_at_logout():
    from django.conf import settings

    js = (settings.BASE_DIR / "static" / "js" / "reader.js").read_text()
    assert "PENDING_KEY = reader.pending_key" in js and '"rs-pending-" + study.id' not in js
    assert "localStorage.removeItem(PENDING_KEY)" in js[js.index('querySelector("form.logout")') :]
    assert "assignment: ASSIGNMENT" in js


# --- 3. spreadsheet formula injection ---------------------------------------------------------------


FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1", "|calc", "%x"]


def test_every_csv_export_neutralises_formulas(artifacts, candidates, reader_a, admin_user):
    from readerstudy.builder import COMMENT_QUESTION, DEFAULT_QUESTIONS

    for k, c in enumerate(candidates):
        c.source_image_id = f"{FORMULAS[k % len(FORMULAS)]}-{k}"
        c.shown_labels = [FORMULAS[(k + 1) % len(FORMULAS)]]
        c.hidden_truth = {"noise": FORMULAS[(k + 2) % len(FORMULAS)]}
    s = builder.study_create_from_candidates(
        title="=cmd|' /C calc'!A0", candidates=candidates, n_forms=1, cases_per_form=4, readers=[reader_a],
        questions=[*DEFAULT_QUESTIONS, COMMENT_QUESTION],
    )  # fmt: skip
    services.study_open(study=s)
    a = Assignment.objects.get(study=s)
    for k, case_id in enumerate(a.order):
        services.answers_submit(
            reader=reader_a,
            case=Case.objects.get(pk=case_id),
            values={"agree_label": "yes", "quality": 2, "difficulty": 3, "comment": FORMULAS[k]},
            complete=True,
        )
    files = {"tidy": exports.tidy_csv(study=s), "via": exports.via_csv(assignment=a, paper_order=True)}
    files["via_plain"] = exports.via_csv(assignment=a)
    for name, text in files.items():
        for row in csv.reader(io.StringIO(text, newline="")):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r", "|", "%")), (name, cell, row)
                assert not cell.startswith("-") or cell.lstrip("-").replace(".", "").isdigit(), (name, cell)
    tidy = list(csv.DictReader(io.StringIO(files["tidy"], newline="")))
    assert {r["value"] for r in tidy if r["question"] == "comment"} >= {'\'=HYPERLINK("http://x")', "'@SUM(A1)"}
    assert any(r["value"] == "-1" or r["value"] == "2" for r in tidy), "numbers stay numbers"


# --- 6. bad input is a 400, not a 500 ---------------------------------------------------------------


@pytest.mark.parametrize(
    "extra, answers, error_key",
    [
        ({"active_ms": 10**400}, {"agree_label": "yes"}, "active_ms"),
        ({"active_ms": 10**20}, {"agree_label": "yes"}, "active_ms"),
        ({}, {"comment": "a\x00b"}, "comment"),
    ],
)
def test_huge_active_time_and_nul_characters_are_clear_400s(
    artifacts, candidates, reader_a, reader_a_client, extra, answers, error_key
):
    from readerstudy.builder import COMMENT_QUESTION, DEFAULT_QUESTIONS

    s = builder.study_create_from_candidates(
        title="t", candidates=candidates, n_forms=1, cases_per_form=4, readers=[reader_a],
        questions=[*DEFAULT_QUESTIONS, COMMENT_QUESTION],
    )  # fmt: skip
    services.study_open(study=s)
    body = json.dumps({"case": first_case(s, reader_a).token, "answers": answers, **extra})
    body = with_assignment(reader_a_client, json.loads(body))
    r = reader_a_client.post(SUBMIT, json.dumps(body), content_type="application/json")
    assert r.status_code == 400, r.content[:300]
    assert error_key in r.json()["errors"]
    assert not Answer.objects.exists()


def test_the_service_refuses_an_active_time_too_large_for_a_float(study, reader_a):
    with pytest.raises(errors.ReaderStudyError) as err:
        services.answers_submit(
            reader=reader_a, case=first_case(study, reader_a), values={"agree_label": "yes"}, client_active_ms=10**400
        )
    assert "active_ms" in err.value.errors


def test_reader_js_backs_off_with_a_cap_and_says_when_it_retries():
    from django.conf import settings

    js = (settings.BASE_DIR / "static" / "js" / "reader.js").read_text()
    assert "RETRY_MAX = 60000" in js and "retryDelay * 2" in js and "Trying again in" in js
    assert "}, 3000);" not in js, "no fixed 3 s retry loop"


# --- 7. smaller holes ---------------------------------------------------------------------------------


def test_get_requests_do_not_start_the_reading_clock(study, reader_a, reader_a_client):
    pk = study.pk
    for url in (
        reverse("readerstudy:read", args=[pk, 1]),
        reverse("readerstudy:api-reader-next", args=[pk]),
        reverse("readerstudy:api-reader-case", args=[pk, 1]),
    ):
        assert reader_a_client.get(url).status_code == 200
    assert not CaseReading.objects.exists()
    assert Assignment.objects.get(reader=reader_a, study=study).started_at is None
    assert reader_a_client.get(reverse("readerstudy:api-reader-viewed", args=[pk, 1])).status_code == 405
    assert reader_a_client.post(reverse("readerstudy:api-reader-viewed", args=[pk, 1])).status_code == 200
    reading = CaseReading.objects.get()
    assert reading.case == first_case(study, reader_a) and reading.first_viewed_at is not None
    # A case beyond the reader's progress cannot be marked viewed.
    assert reader_a_client.post(reverse("readerstudy:api-reader-viewed", args=[pk, 3])).status_code == 404


def test_save_and_next_starts_the_clock_of_the_next_case(study, reader_a, reader_a_client):
    token = first_case(study, reader_a).token
    r = submit(
        reader_a_client,
        {"case": token, "answers": {"agree_label": "yes", "quality": 3, "difficulty": 3}, "complete": True},
    )
    assert r.status_code == 200 and r.json()["next"]["position"] == 2
    second = Case.objects.get(pk=Assignment.objects.get(reader=reader_a, study=study).order[1])
    assert CaseReading.objects.get(case=second).first_viewed_at is not None


def test_case_fields_are_read_only_in_the_admin_once_answered(study, reader_a, admin_client_):
    case = first_case(study, reader_a)
    url = reverse("admin:readerstudy_case_change", args=[case.pk])
    form = {"study": study.pk, "is_pie": "on" if not case.is_pie else "", "shown_labels": '["Changed"]'}
    form.update({"source_image_id": case.source_image_id, "dataset": case.dataset, "hidden_truth": "{}"})
    answer_all(reader_a, study, upto=1)
    admin_client_.post(url, form)
    after = Case.objects.get(pk=case.pk)
    assert (after.is_pie, after.shown_labels, after.study_id) == (case.is_pie, case.shown_labels, case.study_id)
    html = admin_client_.get(url).content.decode()
    assert 'name="is_pie"' not in html and 'name="shown_labels"' not in html and 'name="study"' not in html


# --- 5. study building from an upload: bounded reads, a job, no files left after a failure ----------


def _zip(members: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_zip_bombs_and_oversized_uploads_are_refused_before_anything_is_extracted(tmp_path, monkeypatch):
    from readerstudy import upload

    bomb = _zip({"cases.csv": b"filename,shown_labels,is_pie\na.png,x,1\n", "a.png": b"\0" * (4 * 2**20)})
    with pytest.raises(upload.UploadError, match="compressed .*:1, more than 100:1"):
        upload.candidates_from_upload(io.BytesIO(bomb), None, tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(upload, "MAX_MEMBERS", 3)
    many = _zip({f"{i}.png": b"x" for i in range(4)})
    with pytest.raises(upload.UploadError, match="holds 4 files; at most 3"):
        upload.check_archive(io.BytesIO(many))
    monkeypatch.setattr(upload, "MAX_TOTAL_BYTES", 100)
    with pytest.raises(upload.UploadError, match="unpacks to"):
        upload.check_archive(io.BytesIO(_zip({"a.png": b"y" * 80, "b.png": b"z" * 80})))


def test_a_long_csv_field_is_a_clear_upload_error_not_a_500(artifacts, admin_client_, reader_a):
    from readerstudy.upload import UploadError

    long_field = b'filename,shown_labels,is_pie\n"' + b"x" * 200_000 + b'",Effusion,1\n'
    with pytest.raises(UploadError, match="not a readable CSV file|longer than"):
        builder.study_create_from_upload(title="X", archive=io.BytesIO(_zip({"cases.csv": long_field})))
