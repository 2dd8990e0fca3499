"""Writes on draft studies: change the readers, clone, delete.

A draft has no answers (readers reach a study only once it is open), so its readers and its very existence
may still change; once opened, a study only gains readers (`services.assignment_create`) and is never deleted
(answers are protected).
"""

from collections.abc import Iterable
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F

from readerstudy.dicom import store_case_file
from readerstudy.errors import NotAllowedError
from readerstudy.images import image_path, remove_study_images
from readerstudy.models import Answer, Assignment, Case, CaseReading, Form, FormCase, Question, Study, new_token
from readerstudy.services import assignment_create


def _require_draft(study: Study, action: str) -> None:
    if study.status != Study.Status.DRAFT:
        raise NotAllowedError(f"Only draft studies can be {action}; '{study.title}' is {study.status}.")


def study_readers_update(
    *, study: Study, add: Iterable[AbstractBaseUser] = (), remove: Iterable[AbstractBaseUser] = ()
) -> list[Assignment]:
    """Remove readers from, and add readers to, a draft study (each added reader gets the least-read form)."""
    _require_draft(study, "edited")
    with transaction.atomic():
        Study.objects.select_for_update().get(pk=study.pk)
        gone = Assignment.objects.filter(study=study, reader__in=list(remove))
        if Answer.objects.filter(assignment__in=gone).exists():  # cannot happen in a draft; never lose answers
            raise NotAllowedError("A reader to remove already has answers.")
        CaseReading.objects.filter(assignment__in=gone).delete()
        gone.delete()
        return [assignment_create(study=study, reader=reader) for reader in add]


def study_clone(*, study: Study, created_by: AbstractBaseUser | None = None, title: str = "") -> Study:
    """A new draft with the same questions, cases (own tokens and image copies), forms and readers.

    Each reader keeps their form and gets a fresh presentation order (a new study is a new reading)."""
    copy = None
    try:
        with transaction.atomic():
            copy = Study.objects.create(
                title=title or f"{study.title} (copy)",
                reader_title=study.reader_title,
                instructions=study.instructions,
                allow_back=study.allow_back,
                allow_change=study.allow_change,
                design={**study.design, "cloned_from": study.pk},
                source=study.source,
                created_by=created_by,
            )
            Question.objects.bulk_create(
                Question(study=copy, order=q.order, key=q.key, text=q.text, kind=q.kind, required=q.required,
                         options=q.options)
                for q in study.questions.all()
            )  # fmt: skip
            new_case = {}
            # Originals before their repeats, so each repeat can point at its original's copy.
            for case in Case.objects.filter(study=study).order_by(F("repeat_of_id").asc(nulls_first=True), "id"):
                token = new_token()
                stored = store_case_file(Path(image_path(case.image)), copy.pk, token)
                new_case[case.pk] = Case.objects.create(
                    study=copy, token=token, image=stored.relpath, image_bytes=stored.n_bytes, width=stored.width,
                    height=stored.height, shown_labels=case.shown_labels, is_pie=case.is_pie,
                    source_image_id=case.source_image_id, correlation=case.correlation, dataset=case.dataset,
                    hidden_truth=case.hidden_truth, is_anchor=case.is_anchor,
                    repeat_of=new_case[case.repeat_of_id] if case.repeat_of_id else None,
                )  # fmt: skip
            new_form = {}
            for form in Form.objects.filter(study=study).order_by("number"):
                new_form[form.pk] = Form.objects.create(study=copy, number=form.number)
            FormCase.objects.bulk_create(
                FormCase(form=new_form[fc.form_id], case=new_case[fc.case_id])
                for fc in FormCase.objects.filter(form__study=study)
            )
            for a in Assignment.objects.filter(study=study).select_related("reader").order_by("pseudonym"):
                assignment_create(study=copy, reader=a.reader, form=new_form[a.form_id])
    except BaseException:
        if copy is not None and copy.pk:
            remove_study_images(copy.pk)
        raise
    return copy


def study_delete(*, study: Study) -> None:
    """Delete a draft study with its cases, forms, assignments and copied images."""
    _require_draft(study, "deleted")
    pk = study.pk
    with transaction.atomic():
        CaseReading.objects.filter(assignment__study=study).delete()
        Assignment.objects.filter(study=study).delete()
        study.delete()
    remove_study_images(pk)
