"""Reader pages of the reading protocol (consent and profile, practice cases, the washout wait) and the
researcher's protocol settings page. HTTP only: who may see what, validate, call a service, render."""

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from common.errors import AppError
from config.roles import researcher_required
from readerstudy import consent, selectors, sessions, training
from readerstudy.access import researcher_studies
from readerstudy.entry import entry_step
from readerstudy.images import image_response
from readerstudy.models import Assignment, PracticeAnswer, PracticeCase


def _assignment_or_404(request: HttpRequest, pk: int) -> Assignment:
    assignment = selectors.reader_assignment(reader=request.user, study_id=pk)
    if assignment is None:
        raise Http404("No such study among yours.")
    return assignment


def consent_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The study's consent text and the reader's profile; agreeing records both with the text's version."""
    assignment = _assignment_or_404(request, pk)
    text = consent.consent_current(assignment.study)
    if text is None or not consent.consent_needed(assignment):
        return redirect("readerstudy:read_resume", pk=pk)
    fields = consent.profile_fields(assignment.study)
    values, errors = consent.reader_profile(assignment), {}
    renewed = assignment.consent_version > 0
    if request.method == "POST":
        values = {f["key"]: request.POST.get(f["key"], "") for f in fields}
        if request.POST.get("agree") != "1":
            errors["agree"] = "Tick the box to agree to the consent text."
        else:
            try:
                consent.consent_agree(assignment=assignment, version=request.POST.get("version", 0), profile=values)
                return redirect("readerstudy:read_resume", pk=pk)
            except AppError as exc:
                errors = exc.errors or {"agree": exc.message}
    rows = [{"f": f, "value": values.get(f["key"], ""), "error": errors.get(f["key"])} for f in fields]
    context = {"study": assignment.study, "text": text, "rows": rows, "agree_error": errors.get("agree")}
    return render(request, "readerstudy/consent.html", {**context, "renewed": renewed})


def practice_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One practice case (GET), or the reference answer next to the reader's (after the POST)."""
    assignment = _assignment_or_404(request, pk)
    if entry_step(assignment) != "practice":
        return redirect("readerstudy:read_resume", pk=pk)
    study = assignment.study
    case = training.practice_next(assignment)
    # Practice asks the rating questions; the optional "which label is wrong" list is not practised.
    questions = list(study.questions.exclude(kind="labels"))
    context = {"study": study, "questions": questions, "total": study.practice_count}
    if request.method == "POST":
        case = get_object_or_404(PracticeCase, study=study, token=request.POST.get("case", ""))
        values = {q.key: request.POST.get(f"q-{q.key}", "") for q in context["questions"]}
        try:
            answer = training.practice_submit(assignment=assignment, practice_case=case, values=values)
        except AppError as exc:
            context.update(case=case, values=values, errors=exc.errors or {"": exc.message})
            return render(request, "readerstudy/practice.html", context)
        feedback = training.practice_feedback(answer)
        return render(request, "readerstudy/practice.html", {**context, "case": case, "feedback": feedback})
    if case is None:  # every practice case answered (the flag is set by the last submit)
        return redirect("readerstudy:read_resume", pk=pk)
    return render(request, "readerstudy/practice.html", {**context, "case": case, "values": {}})


def practice_image(request: HttpRequest, token: str) -> HttpResponse:
    case = PracticeCase.objects.filter(token=token).select_related("study").first()
    if case is None:
        raise Http404("No such image.")
    mine = selectors.reader_assignment(reader=request.user, study_id=case.study_id) is not None
    if not mine and not researcher_studies(request.user).filter(pk=case.study_id).exists():
        raise Http404("No such image.")
    return image_response(case.image)


def washout_page(request: HttpRequest, assignment: Assignment, progress) -> HttpResponse:
    context = {"study": assignment.study, "progress": progress}
    return render(request, "readerstudy/washout.html", context)


# --- researchers ----------------------------------------------------------------------------------


@researcher_required
def protocol(request: HttpRequest, pk: int) -> HttpResponse:
    """Consent text, sessions with their washout, and practice cases of a study."""
    study = get_object_or_404(researcher_studies(request.user), pk=pk)
    if request.method == "POST":
        try:
            _protocol_change(request, study)
        except AppError as exc:
            messages.error(request, exc.message)
        return redirect("readerstudy:protocol", pk=pk)
    context = {
        "study": study,
        "consent_text": consent.consent_current(study),
        "consent_versions": study.consent_texts.all(),
        "fields": consent.profile_fields(study),
        "fields_json": json.dumps(study.profile_fields, indent=1) if study.profile_fields else "",
        "practice_cases": study.practice_cases.all(),
        "questions": list(study.questions.exclude(kind="labels")),  # not practised (see practice_page)
        "n_practice_answers": PracticeAnswer.objects.filter(assignment__study=study).count(),
    }
    return render(request, "readerstudy/protocol.html", context)


@contextmanager
def upload_to_temp(upload) -> Iterator[Path]:
    """An uploaded file on disk for the image re-encoder, removed afterwards whatever happens."""
    with tempfile.TemporaryDirectory(prefix="rs-practice-") as folder:
        path = Path(folder) / "upload"
        with path.open("wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        yield path


def _protocol_change(request: HttpRequest, study) -> None:
    what = request.POST.get("what")
    if what == "consent":
        consent.consent_text_set(study=study, text=request.POST.get("text", ""))
        messages.success(request, "Consent text saved; readers agree to a changed text again.")
    elif what == "profile_fields":
        try:
            fields = json.loads(request.POST.get("fields", "").strip() or "[]")
        except ValueError as exc:
            raise AppError(f"Profile fields: not valid JSON ({exc}).") from None
        consent.profile_fields_set(study=study, fields=fields)
        messages.success(request, "Profile fields saved.")
    elif what == "sessions":
        try:
            n, days = int(request.POST.get("sessions", "")), float(request.POST.get("washout_days", ""))
        except ValueError:
            raise AppError("Sessions must be a whole number and the washout a number of days.") from None
        sessions.study_sessions_set(study=study, sessions=n, washout_days=days)
        messages.success(request, f"{n} session(s) with a washout of {days:g} days.")
    elif what == "practice":
        upload = request.FILES.get("image")
        if upload is None:
            raise AppError("Choose an image for the practice case.")
        reference = {q.key: request.POST.get(f"q-{q.key}", "") for q in study.questions.all()}
        labels = [s.strip() for s in request.POST.get("labels", "").split(",") if s.strip()]
        with upload_to_temp(upload) as path:
            training.practice_case_add(
                study=study, image=path, reference=reference, shown_labels=labels,
                explanation=request.POST.get("explanation", ""),
            )  # fmt: skip
        messages.success(request, "Practice case added.")
    else:
        raise AppError(f"Unknown change {what!r}.")
