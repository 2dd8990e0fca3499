"""Reader-study pages: HTTP only (who may see what, validate, call a service or selector, render).

Readers reach a study only through their own assignment (404 otherwise, so nothing reveals that other
studies or cases exist); researchers and admins see everything.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from common.errors import AppError
from config.roles import DUAL_ROLE_MESSAGE, admin_required, is_dual_role, is_researcher, researcher_required
from readerstudy import builder, exports, hotpath, selectors, services, sources
from readerstudy.access import researcher_studies
from readerstudy.build_job import study_build_start
from readerstudy.dicom import full_depth_response
from readerstudy.entry import entry_step
from readerstudy.forms import SelectionStudyForm, UploadStudyForm
from readerstudy.images import image_response
from readerstudy.models import Assignment, Case, Study
from readerstudy.sessions import study_washout_waits
from readerstudy.upload import UploadError
from readerstudy.views_protocol import washout_page


def home(request: HttpRequest) -> HttpResponse:
    context = {"assignments": selectors.reader_assignments(reader=request.user)}
    if is_dual_role(request.user):
        messages.warning(request, DUAL_ROLE_MESSAGE)
    if is_researcher(request.user):
        context["studies"] = selectors.study_list(user=request.user)
    return render(request, "readerstudy/home.html", context)


def _assignment_or_404(request: HttpRequest, pk: int) -> Assignment:
    assignment = selectors.reader_assignment(reader=request.user, study_id=pk)
    if assignment is None:
        _refuse_dual_role(request)
        raise Http404("No such study among yours.")
    return assignment


def _refuse_dual_role(request: HttpRequest) -> None:
    """A clear 403 (not a bare 404) for an account that is both reader and researcher/admin; the check runs
    only once access has already failed, so the readers' own requests pay nothing for it."""
    if is_dual_role(request.user):
        raise PermissionDenied(DUAL_ROLE_MESSAGE)


def study_intro(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = selectors.reader_assignment(reader=request.user, study_id=pk)
    if assignment is None and researcher_studies(request.user).filter(pk=pk).exists():
        return redirect("readerstudy:dashboard", pk=pk)
    if assignment is None:
        _refuse_dual_role(request)
        raise Http404("No such study among yours.")
    if study_open_for_entry(assignment) and (step := entry_step(assignment)):
        return redirect(f"readerstudy:{step}", pk=pk)
    progress = selectors.reader_progress(assignment=assignment)
    return render(
        request, "readerstudy/intro.html", {"study": assignment.study, "assignment": assignment, "progress": progress}
    )


def study_open_for_entry(assignment: Assignment) -> bool:
    """Consent and practice are asked for only while the study is open (a closed one is read-only)."""
    return assignment.study.is_open


def read_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Where the reader left off: the first unfinished case (with any autosaved answers), or the end."""
    assignment = _assignment_or_404(request, pk)
    if study_open_for_entry(assignment) and (step := entry_step(assignment)):
        return redirect(f"readerstudy:{step}", pk=pk)
    progress = selectors.reader_progress(assignment=assignment)
    if progress.finished:
        return redirect("readerstudy:done", pk=pk)
    if progress.waiting:
        return washout_page(request, assignment, progress)
    return redirect("readerstudy:read", pk=pk, position=progress.current)


def read(request: HttpRequest, pk: int, position: int) -> HttpResponse:
    assignment = _assignment_or_404(request, pk)
    study = assignment.study
    progress = selectors.reader_progress(assignment=assignment)
    if not study.is_open:
        messages.info(request, f"This study is {study.status}.")
        return redirect("readerstudy:intro", pk=pk)
    if entry_step(assignment):
        return redirect("readerstudy:read_resume", pk=pk)
    if not selectors.reader_can_view(assignment=assignment, position=position, progress=progress):
        return redirect("readerstudy:read_resume", pk=pk)
    # No write here: a GET never starts the reading clock; the page POSTs "viewed" once the case is shown.
    bootstrap = {
        # Unsent answers are kept in the browser under a key of this user and study, with the assignment they
        # were given in; the server refuses them from any other login (a shared reading-room computer).
        "reader": {"pending_key": f"rs-pending-{request.user.pk}-{pk}", "assignment": assignment.pk},
        "study": selectors.reader_study_payload(assignment=assignment, progress=progress),
        "case": selectors.reader_case_payload(assignment=assignment, position=position, progress=progress),
        "urls": {
            "submit": reverse("readerstudy:api-answer-submit"),
            "flag": reverse("readerstudy:api-case-flag"),
            "case": reverse("readerstudy:api-reader-case", args=[pk, 0]).removesuffix("0/"),
            "viewed": reverse("readerstudy:api-reader-viewed", args=[pk, 0]).removesuffix("0/viewed/"),
            "read": reverse("readerstudy:read", args=[pk, 0]).removesuffix("0/"),
            "done": reverse("readerstudy:done", args=[pk]),
            "resume": reverse("readerstudy:read_resume", args=[pk]),
            "studies": reverse("readerstudy:home"),
        },
    }
    return render(request, "readerstudy/read.html", {"study": study, "bootstrap": bootstrap})


def done(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = _assignment_or_404(request, pk)
    progress = selectors.reader_progress(assignment=assignment)
    if not progress.finished:
        return redirect("readerstudy:read_resume", pk=pk)
    return render(request, "readerstudy/done.html", {"study": assignment.study, "progress": progress})


def image(request: HttpRequest, token: str) -> HttpResponse:
    # Readers first (one query, and the hot path: a reader has no researcher access to what they read).
    relpath = hotpath.reader_image(reader=request.user, token=token)
    if relpath is None and is_researcher(request.user):
        case = Case.objects.filter(token=token, study__in=researcher_studies(request.user)).first()
        relpath = case.image if case is not None else None
    if relpath is None:
        raise Http404("No such image.")
    return image_response(relpath)


def image_full(request: HttpRequest, token: str) -> HttpResponse:
    """The full-depth pixels of a DICOM case (raw uint16), to the same people as its display image."""
    case = None
    if is_researcher(request.user):
        case = Case.objects.filter(token=token, study__in=researcher_studies(request.user)).first()
    if case is None:
        case = selectors.reader_can_see_case(reader=request.user, token=token)
    if case is None or not case.full_depth:
        raise Http404("No such image.")
    return full_depth_response(case.full_depth)


# --- researchers and admins -----------------------------------------------------------------------


def _researcher_study_or_404(request: HttpRequest, pk: int) -> Study:
    """A study the user owns, collaborates on, or (admins) any study; 404 for the rest (existence stays hidden)."""
    return get_object_or_404(researcher_studies(request.user), pk=pk)


@researcher_required
def dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    study = _researcher_study_or_404(request, pk)
    context = {"study": study, **selectors.study_dashboard(study=study)}
    waits = study_washout_waits(study=study)
    readers = context["readers"]
    context["washout_waits"] = [(r, waits[r["assignment"].pk]) for r in readers if r["assignment"].pk in waits]
    if study.status == Study.Status.DRAFT:
        context["addable_readers"] = selectors.readers_not_in(study=study)
    return render(request, "readerstudy/dashboard.html", context)


@admin_required
@require_POST
def set_status(request: HttpRequest, pk: int) -> HttpResponse:
    study = _researcher_study_or_404(request, pk)
    action = request.POST.get("action")
    try:
        if action == "open":
            services.study_open(study=study)
        elif action == "close":
            services.study_close(study=study)
        else:
            messages.error(request, f"Unknown action {action!r}; use open or close.")
            return redirect("readerstudy:dashboard", pk=pk)
    except AppError as exc:
        messages.error(request, exc.message)
        return redirect("readerstudy:dashboard", pk=pk)
    messages.success(request, f"Study '{study.title}' is now {study.status}.")
    return redirect("readerstudy:dashboard", pk=pk)


def _download(content: str | bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@researcher_required
def export_tidy(request: HttpRequest, pk: int) -> HttpResponse:
    study = _researcher_study_or_404(request, pk)
    return _download(exports.tidy_csv(study=study), f"study{study.pk}_answers.csv", "text/csv")


@researcher_required
def export_flags(request: HttpRequest, pk: int) -> HttpResponse:
    study = _researcher_study_or_404(request, pk)
    return _download(exports.flags_csv(study=study), f"study{study.pk}_flags.csv", "text/csv")


@researcher_required
def export_via(request: HttpRequest, pk: int, pseudonym: str) -> HttpResponse:
    study = _researcher_study_or_404(request, pk)
    assignment = get_object_or_404(Assignment.objects.select_related("form", "study"), study=study, pseudonym=pseudonym)
    paper_order = request.GET.get("paper_order") == "1"
    content = exports.via_csv(assignment=assignment, paper_order=paper_order)
    return _download(content, exports.via_export_name(assignment), "text/csv")


@researcher_required
def export_via_zip(request: HttpRequest, pk: int) -> HttpResponse:
    study = _researcher_study_or_404(request, pk)
    content = exports.via_zip(study=study, paper_order=request.GET.get("paper_order") == "1")
    return _download(content, f"study{study.pk}_via.zip", "application/zip")


@admin_required
def study_new(request: HttpRequest) -> HttpResponse:
    """Build a study from an uploaded zip + CSV, or from a PIE selection of the pruning engine."""
    choices = sources.pie_selection_choices()
    upload_form = UploadStudyForm(prefix="up")
    # "Build a study from these PIEs" on an experiment links here with ?selection=<id>.
    selection_form = SelectionStudyForm(prefix="sel", choices=choices, initial=_selection_initial(request, choices))
    errors: list[str] = []
    if request.method == "POST":
        source = request.POST.get("source")
        try:
            if source == "upload":
                upload_form = UploadStudyForm(request.POST, request.FILES, prefix="up")
                if upload_form.is_valid():
                    # Checked, unpacked and built by a job (readerstudy.build_job); the admin watches its progress.
                    job = study_build_start(
                        archive=upload_form.cleaned_data["archive"],
                        csv_file=upload_form.cleaned_data["csv_file"],
                        user=request.user,
                        **upload_form.design_kwargs(),
                    )
                    messages.success(request, "The upload is being checked and the study built; follow it here.")
                    return redirect("jobs:job_detail", pk=job.pk)
            elif source == "selection":
                selection_form = SelectionStudyForm(request.POST, prefix="sel", choices=choices)
                if selection_form.is_valid():
                    candidates, origin = sources.candidates_from_pie_selection(selection_form.cleaned_data["selection"])
                    study = builder.study_create_from_candidates(
                        candidates=candidates, source=origin, created_by=request.user, **selection_form.design_kwargs()
                    )
                    return _created(request, study, selection_form.notes)
            else:
                errors.append("Choose where the cases come from.")
        except UploadError as exc:
            # `errors` repeats the message when there is only one problem: show each line once.
            errors = [exc.message, *(e for e in exc.errors if e != exc.message)]
        except AppError as exc:
            errors = [str(exc)]
    status = 400 if request.method == "POST" else 200  # a successful POST has redirected already
    return render(
        request,
        "readerstudy/new.html",
        {
            "upload_form": upload_form,
            "selection_form": selection_form,
            "has_selections": bool(choices),
            "errors": errors,
        },
        status=status,
    )


def _selection_initial(request: HttpRequest, choices: list[tuple[str, str]]) -> dict:
    wanted = request.GET.get("selection", "")
    if wanted not in {value for value, _ in choices}:
        return {}
    label = next(label for value, label in choices if value == wanted)
    return {"selection": wanted, "title": f"Reader study of PIE selection {label.split(' ')[0]}"}


def _created(request: HttpRequest, study: Study, notes: list[str]) -> HttpResponse:
    messages.success(
        request, f"Created draft study '{study.title}' with {study.cases.count()} cases. Open it when ready."
    )
    for note in notes:
        messages.warning(request, note)
    return redirect("readerstudy:dashboard", pk=study.pk)
