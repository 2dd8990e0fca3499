"""Roles never mix: an account that is a researcher, staff or superuser reads no study, wherever it is checked
(the one reader gate, services, forms, the Django admin, invite_reader); and an API client needs no HTML."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from config.roles import DUAL_ROLE_MESSAGE, READERS, RESEARCHERS
from readerstudy import services
from readerstudy.errors import ReaderStudyError
from readerstudy.models import Answer, Assignment, Case

from ..conftest import _client_for

pytestmark = pytest.mark.django_db


def _make_dual(user, kind: str) -> None:
    """Give a reader the second role in one of the three ways an account becomes a researcher or admin."""
    if kind == "researcher":
        user.groups.add(Group.objects.get_or_create(name=RESEARCHERS)[0])
    else:
        setattr(user, "is_staff" if kind == "staff" else "is_superuser", True)
        user.save()


@pytest.mark.parametrize("kind", ["researcher", "staff", "superuser"])
def test_a_reader_promoted_to_any_second_role_loses_every_reading_request(study, reader_a, kind):
    assignment = Assignment.objects.get(reader=reader_a)
    token = Case.objects.get(pk=assignment.order[0]).token
    _make_dual(reader_a, kind)
    client = _client_for(reader_a)
    page = client.get(reverse("readerstudy:read", args=[study.pk, 1]))
    assert page.status_code == 403 and DUAL_ROLE_MESSAGE in page.content.decode()
    api = client.get(reverse("readerstudy:api-reader-next", args=[study.pk]))
    assert api.status_code == 403 and api.json()["detail"] == DUAL_ROLE_MESSAGE
    if kind == "researcher":  # (admins see every study's images on their own side, as they always did)
        assert client.get(reverse("readerstudy:image", args=[token])).status_code == 404
    body = {"case": token, "assignment": assignment.pk, "answers": {"quality": 3}}
    saved = client.post(reverse("readerstudy:api-answer-submit"), body, content_type="application/json")
    assert saved.status_code == 403 and not Answer.objects.exists()


@pytest.mark.parametrize("kind", ["researcher", "staff", "superuser"])
def test_no_dual_role_account_of_any_kind_can_be_assigned_to_any_study(study, django_user_model, kind):
    user = django_user_model.objects.create_user(username=f"dual_{kind}", password="x")
    user.groups.add(Group.objects.get_or_create(name=READERS)[0])
    _make_dual(user, kind)
    with pytest.raises(ReaderStudyError, match="researcher or admin"):
        services.assignment_create(study=study, reader=user)
    assert not Assignment.objects.filter(reader=user).exists()


def test_the_study_forms_offer_no_researcher_as_a_reader(study, researcher, reader_a):
    from readerstudy.forms import SelectionStudyForm
    from readerstudy.selectors import readers_not_in

    researcher.groups.add(Group.objects.get(name=READERS))
    offered = SelectionStudyForm(prefix="sel", choices=[]).fields["readers"].queryset
    assert researcher not in offered and reader_a in offered
    assert researcher not in readers_not_in(study=study)


def test_admin_add_assignment_for_a_granted_or_dual_role_user_is_a_form_error_not_a_500(
    study, admin_client_, researcher, django_user_model
):
    researcher.groups.add(Group.objects.get(name=READERS))
    r = admin_client_.post(
        reverse("admin:readerstudy_assignment_add"), {"study": study.pk, "reader": researcher.pk, "form": ""}
    )
    assert r.status_code == 200 and "researcher or admin" in r.content.decode()
    assert not Assignment.objects.filter(reader=researcher).exists()


def test_admin_user_form_refuses_to_make_a_reader_a_researcher_too(admin_client_, reader_a):
    researchers = Group.objects.get_or_create(name=RESEARCHERS)[0]
    readers = Group.objects.get(name=READERS)
    url = reverse("admin:auth_user_change", args=[reader_a.pk])
    form = {
        "username": reader_a.username,
        "groups": [readers.pk, researchers.pk],
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    r = admin_client_.post(url, form)
    assert r.status_code == 200 and "either a reader or a researcher" in r.content.decode()
    assert not reader_a.groups.filter(name=RESEARCHERS).exists()
    r = admin_client_.post(url, {**form, "groups": [researchers.pk]})  # promotion without the reading side
    assert r.status_code == 302 and list(reader_a.groups.values_list("name", flat=True)) == [RESEARCHERS]


def test_the_admin_lists_existing_dual_role_accounts_with_the_fix(study, admin_client_, reader_a):
    reader_a.groups.add(Group.objects.get_or_create(name=RESEARCHERS)[0])
    page = admin_client_.get(reverse("admin:readerstudy_assignment_changelist")).content.decode()
    assert "Reader_a has forms to read but is also a researcher or admin" in page


def test_invite_reader_refuses_a_researcher_account(researcher):
    with pytest.raises(CommandError, match="admin or researcher"):
        call_command("invite_reader", researcher.username)
    assert not researcher.groups.filter(name=READERS).exists()


def test_readers_see_a_neutral_title_and_researchers_the_real_one(study, reader_a_client, researcher_client):
    url = reverse("readerstudy:api-study", args=[study.pk])
    assert reader_a_client.get(url).json()["title"] == f"Reader study {study.pk}"
    assert "Small study" not in reader_a_client.get(reverse("readerstudy:intro", args=[study.pk])).content.decode()
    assert researcher_client.get(url).json()["title"] == "Small study"


def test_a_json_only_client_completes_a_whole_form_without_any_html_request(study, reader_a):
    client = Client()
    client.force_login(reader_a)  # a session, as after the login POST; everything below is JSON
    paths = []

    def call(method: str, url: str, body: dict | None = None) -> dict:
        paths.append(url)
        kwargs = {"content_type": "application/json"} if body is not None else {}
        r = getattr(client, method)(url, body, **kwargs) if body is not None else getattr(client, method)(url)
        assert r.status_code == 200 and r["Content-Type"] == "application/json", r.content
        return r.json()

    mine = call("get", reverse("readerstudy:api-studies"))["assigned"]
    detail = call("get", reverse("readerstudy:api-study", args=[mine[0]["id"]]))
    assignment = detail["assignment"]
    questions = {q["key"]: q for q in detail["questions"]}
    nxt = call("get", reverse("readerstudy:api-reader-next", args=[study.pk]))
    while not nxt["finished"]:
        assert nxt["assignment"] == assignment
        body = {
            "case": nxt["case"]["id"],
            "assignment": nxt["assignment"],
            "answers": {"agree_label": "yes", "quality": len(questions["quality"]["options"]), "difficulty": 1},
            "complete": True,
        }
        call("post", reverse("readerstudy:api-answer-submit"), body)
        nxt = call("get", reverse("readerstudy:api-reader-next", args=[study.pk]))
    assert nxt == {"finished": True, "done": 6, "total": 6}
    assert Answer.objects.filter(reader=reader_a).count() == 18
    assert all("/api/" in p for p in paths)


def test_readers_get_no_api_schema_and_researchers_the_full_one(reader_a_client, researcher_client):
    for url in (reverse("api-schema"), reverse("api-docs")):
        assert reader_a_client.get(url).status_code == 403
    schema = researcher_client.get(reverse("api-schema"), {"format": "json"}).json()
    assert "is_pie" in str(schema)


def test_a_reader_title_set_at_build_time_is_what_readers_see_and_clones_keep(study, reader_a_client, admin_user):
    from readerstudy import services_drafts

    study.reader_title = "Chest film reading, spring"
    study.save(update_fields=["reader_title"])
    assert reader_a_client.get(reverse("readerstudy:api-study", args=[study.pk])).json()["title"] == study.reader_title
    copy = services_drafts.study_clone(study=study, created_by=admin_user)
    assert copy.reader_title == study.reader_title and copy.title == "Small study (copy)"
