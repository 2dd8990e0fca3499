"""The study form's reader and PIE-share checks, and what an admin does with a draft: change its readers,
preview it as a reader (nothing written, nothing hidden), clone it, delete it."""

import pytest
from django.urls import reverse

from readerstudy import builder, errors, services, services_drafts
from readerstudy.forms import SelectionStudyForm
from readerstudy.images import image_path, study_image_dir
from readerstudy.models import Answer, Assignment, Case, CaseReading, Study

pytestmark = pytest.mark.django_db


def design_form(readers, *, n_forms=2, cases=6, fraction=0.5, per=1):
    data = {
        "selection": "1", "title": "T", "n_forms": n_forms, "cases_per_form": cases, "pie_fraction": fraction,
        "readers_per_form": per, "repeat_cases": 0, "seed": 0, "readers": [u.pk for u in readers],
    }  # fmt: skip
    form = SelectionStudyForm(data, choices=[("1", "selection 1")])
    form.is_valid()
    return form


def test_zero_readers_is_refused_with_a_clear_message(reader_a):
    form = design_form([])
    assert form.errors["readers"] == ["Choose at least one reader (more can be added while the study is a draft)."]


def test_more_readers_than_the_forms_hold_names_the_setting_to_change(reader_a, reader_b, researcher):
    form = design_form([reader_a, reader_b], n_forms=1, per=1)
    assert "2 readers do not fit 1 form(s) x 1 reader(s) per form: set readers per form to 2" in str(form.errors)


def test_readers_per_form_larger_than_the_readers_fill_is_refused(reader_a, reader_b):
    form = design_form([reader_a, reader_b], n_forms=2, per=2)
    assert "2 reader(s) over 2 form(s) give at most 1 reader(s) per form, not 2: set it to 1" in str(form.errors)


def test_too_few_readers_and_an_uneven_pie_share_build_with_explicit_notes(reader_a):
    form = design_form([reader_a], n_forms=3, cases=7, fraction=0.5)
    assert form.is_valid(), form.errors
    assert form.notes == [
        "Only 1 of the 3 forms have a reader (forms 2-3 have none): add readers while the study is a draft.",
        "7 cases x PIE fraction 0.5 = 3.5 PIEs, rounded to 4 PIEs and 3 non-PIEs per form.",
    ]
    assert design_form([reader_a], n_forms=1, cases=6, fraction=0.5).notes == []


@pytest.fixture
def draft(artifacts, candidates, reader_a, admin_user):
    return builder.study_create_from_candidates(
        title="Draft", candidates=candidates, n_forms=2, cases_per_form=6, repeat_cases=1, readers=[reader_a], seed=5
    )


def test_readers_of_a_draft_change_and_pseudonyms_stay_unique(draft, reader_a, reader_b, admin_client_):
    r = admin_client_.post(reverse("readerstudy:readers", args=[draft.pk]), {"add": [reader_b.pk]})
    assert r.status_code == 302
    assert dict(Assignment.objects.filter(study=draft).values_list("reader__username", "form__number")) == {
        "reader_a": 1,
        "reader_b": 2,
    }
    admin_client_.post(reverse("readerstudy:readers", args=[draft.pk]), {"remove": [reader_a.pk]})
    admin_client_.post(reverse("readerstudy:readers", args=[draft.pk]), {"add": [reader_a.pk]})
    assert sorted(Assignment.objects.filter(study=draft).values_list("pseudonym", flat=True)) == ["R02", "R03"]


def test_readers_of_an_open_study_cannot_be_removed(draft, reader_a):
    services.study_open(study=draft)
    with pytest.raises(errors.NotAllowedError, match="Only draft studies can be edited"):
        services_drafts.study_readers_update(study=draft, remove=[reader_a])
    assert Assignment.objects.filter(study=draft).count() == 1


def test_preview_shows_the_readers_page_without_writing_or_revealing_anything(draft, admin_client_, researcher_client):
    page = admin_client_.get(reverse("readerstudy:preview", args=[draft.pk, 1, 1]))
    assert page.status_code == 200 and b"nothing is saved" in page.content
    case = admin_client_.get(reverse("readerstudy:preview_case", args=[draft.pk, 1, 2])).json()
    assert case["editable"] is False and case["position"] == 2 and case["total"] == 7  # 6 cases + 1 hidden repeat
    assert set(case["case"]) == {"id", "image_url", "width", "height", "shown_labels", "pixel_spacing"}
    assert admin_client_.get(reverse("readerstudy:preview_case", args=[draft.pk, 1, 8])).status_code == 404
    assert researcher_client.get(reverse("readerstudy:preview", args=[draft.pk, 1, 1])).status_code == 403
    assert not CaseReading.objects.exists() and not Answer.objects.exists()


def test_clone_copies_cases_forms_questions_and_readers_under_new_tokens(draft, admin_client_):
    r = admin_client_.post(reverse("readerstudy:clone", args=[draft.pk]))
    copy = Study.objects.exclude(pk=draft.pk).get()
    assert r.status_code == 302 and r.url == reverse("readerstudy:dashboard", args=[copy.pk])
    assert (copy.title, copy.status, copy.design["cloned_from"]) == ("Draft (copy)", "draft", draft.pk)
    old, new = Case.objects.filter(study=draft), Case.objects.filter(study=copy)
    assert sorted(old.values_list("source_image_id", "is_pie")) == sorted(new.values_list("source_image_id", "is_pie"))
    assert not set(old.values_list("token", flat=True)) & set(new.values_list("token", flat=True))
    assert all(image_path(c.image).is_file() for c in new)
    repeat = new.get(repeat_of__isnull=False, forms__number=1)
    assert repeat.repeat_of.study_id == copy.pk
    assert list(copy.questions.values_list("key", flat=True)) == ["agree_label", "quality", "difficulty"]
    a = Assignment.objects.get(study=copy)
    assert (a.reader.username, a.form.number, len(a.order)) == ("reader_a", 1, 7)


def test_only_drafts_are_deleted_with_their_images(draft, admin_client_):
    services.study_open(study=draft)
    r = admin_client_.post(reverse("readerstudy:delete", args=[draft.pk]), follow=True)
    assert "Only draft studies can be deleted" in r.content.decode() and Study.objects.filter(pk=draft.pk).exists()
    Study.objects.filter(pk=draft.pk).update(status=Study.Status.DRAFT)
    r = admin_client_.post(reverse("readerstudy:delete", args=[draft.pk]))
    assert r.status_code == 302 and not Study.objects.exists() and not Case.objects.exists()
    assert not study_image_dir(draft.pk).exists()


def test_dashboard_of_a_draft_offers_preview_clone_delete_and_reader_changes(draft, admin_client_, reader_b):
    body = admin_client_.get(reverse("readerstudy:dashboard", args=[draft.pk])).content.decode()
    for text in ("Preview as reader", "Clone", "Delete", 'id="readers-edit"', f'name="add" value="{reader_b.pk}"'):
        assert text in body, text
    services.study_open(study=draft)
    body = admin_client_.get(reverse("readerstudy:dashboard", args=[draft.pk])).content.decode()
    assert 'data-confirm="Close' in body and 'id="readers-edit"' not in body and ">Delete<" not in body
