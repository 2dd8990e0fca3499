"""Django admin pages of the reader study render, and adding an assignment goes through the service."""

import pytest
from django.urls import reverse

from readerstudy.models import Assignment, Question

from .conftest import answer_all

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["study", "case", "form", "assignment", "casereading", "answer"])
def test_admin_lists_and_change_pages_render(study, reader_a, admin_client_, model):
    answer_all(reader_a, study, upto=1)
    assert admin_client_.get(reverse(f"admin:readerstudy_{model}_changelist")).status_code == 200
    obj = {"study": study, "assignment": Assignment.objects.first()}.get(model)
    if obj is not None:
        assert admin_client_.get(reverse(f"admin:readerstudy_{model}_change", args=[obj.pk])).status_code == 200


def test_admin_adds_an_assignment_with_a_stored_order(study, admin_client_, django_user_model):
    from django.contrib.auth.models import Group

    late = django_user_model.objects.create_user(username="late", password="x")
    r = admin_client_.post(reverse("admin:readerstudy_assignment_add"), {"study": study.pk, "reader": late.pk})
    assert "not in the readers group" in r.content.decode()
    late.groups.add(Group.objects.get(name="readers"))
    r = admin_client_.post(reverse("admin:readerstudy_assignment_add"), {"study": study.pk, "reader": late.pk})
    assert r.status_code == 302
    a = Assignment.objects.get(reader=late)
    assert a.pseudonym == "R03" and len(a.order) == 6 and a.form.number == 1


def test_answered_questions_are_read_only_in_the_admin(study, reader_a, admin_client_):
    url = reverse("admin:readerstudy_study_change", args=[study.pk])
    assert 'name="questions-0-text"' in admin_client_.get(url).content.decode()
    answer_all(reader_a, study, upto=1)
    assert 'name="questions-0-text"' not in admin_client_.get(url).content.decode()
    assert Question.objects.filter(study=study).count() == 3
