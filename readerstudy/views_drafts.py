"""Admin pages around a study before (and beside) its reading: preview as a reader, change the readers of a
draft, clone, delete. HTTP only: role check, validate, call a service or selector, render."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from common.errors import AppError
from config.roles import READERS, admin_required
from readerstudy import preview, services_drafts
from readerstudy.models import Form, Study


def _form_or_404(pk: int, number: int) -> Form:
    return get_object_or_404(Form.objects.select_related("study"), study_id=pk, number=number)


@admin_required
def study_preview(request: HttpRequest, pk: int, form: int, position: int = 1) -> HttpResponse:
    """The reading page for one form, read-only: what its readers will see, with nothing saved."""
    form_obj = _form_or_404(pk, form)
    case = preview.preview_case_payload(form=form_obj, position=position)
    if case is None:
        raise Http404("No such case in this form.")
    base = reverse("readerstudy:preview", args=[pk, form, 1]).removesuffix("1/")
    bootstrap = {
        "preview": True,
        "study": preview.preview_study_payload(form_obj),
        "case": case,
        "urls": {
            "submit": "",
            "flag": "",
            "case": reverse("readerstudy:preview_case", args=[pk, form, 1]).removesuffix("1/"),
            "read": base,
            "done": reverse("readerstudy:dashboard", args=[pk]),
            "studies": reverse("readerstudy:home"),
        },
    }
    context = {"study": form_obj.study, "bootstrap": bootstrap, "preview_form": form_obj}
    return render(request, "readerstudy/read.html", context)


@admin_required
def preview_case(request: HttpRequest, pk: int, form: int, position: int) -> JsonResponse:
    case = preview.preview_case_payload(form=_form_or_404(pk, form), position=position)
    if case is None:
        return JsonResponse({"detail": "No such case in this form."}, status=404)
    return JsonResponse(case)


@admin_required
@require_POST
def study_readers(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_object_or_404(Study, pk=pk)
    users = get_user_model().objects.filter(groups__name=READERS, is_active=True)
    try:
        add = list(users.filter(pk__in=[int(i) for i in request.POST.getlist("add")]))
        remove = list(users.filter(pk__in=[int(i) for i in request.POST.getlist("remove")]))
    except ValueError:
        messages.error(request, "Readers are chosen by their id.")
        return redirect("readerstudy:dashboard", pk=pk)
    try:
        added = services_drafts.study_readers_update(study=study, add=add, remove=remove)
    except AppError as exc:
        messages.error(request, exc.message)
    else:
        parts = [f"added {a.reader.get_username()} (form {a.form.number})" for a in added]
        parts += [f"removed {u.get_username()}" for u in remove]
        messages.success(request, "Readers: " + "; ".join(parts) + "." if parts else "No reader changed.")
    return redirect("readerstudy:dashboard", pk=pk)


@admin_required
@require_POST
def study_clone(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_object_or_404(Study, pk=pk)
    try:
        copy = services_drafts.study_clone(study=study, created_by=request.user)
    except AppError as exc:
        messages.error(request, str(exc))
        return redirect("readerstudy:dashboard", pk=pk)
    messages.success(request, f"Cloned '{study.title}' as draft '{copy.title}': change it, then open it.")
    return redirect("readerstudy:dashboard", pk=copy.pk)


@admin_required
@require_POST
def study_delete(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_object_or_404(Study, pk=pk)
    try:
        services_drafts.study_delete(study=study)
    except AppError as exc:
        messages.error(request, exc.message)
        return redirect("readerstudy:dashboard", pk=pk)
    messages.success(request, f"Deleted draft study '{study.title}'.")
    return redirect("readerstudy:home")
