"""JSON API (DRF). Same permissions as the pages: readers get their own, blinded data; researchers all.

The base view, the researcher permission and the error statuses live in config.api: a service's
`AppError` reaches the client through its one exception handler.
"""

import json
from typing import NoReturn

from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import CSRFCheck
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from common.errors import AppError
from config.api import Api, IsResearcher, errors, status_of
from config.roles import DUAL_ROLE_MESSAGE, is_dual_role, is_researcher
from readerstudy import api_serializers as out
from readerstudy import hotpath, selectors, services
from readerstudy.access import researcher_studies
from readerstudy.answering import MAX_ACTIVE_MS
from readerstudy.errors import NotAllowedError
from readerstudy.models import Assignment, Case, Study
from readerstudy.tables import answers_tidy


def _refuse(request: Request) -> NoReturn:
    """No readable assignment: a dual-role account hears why (checked only on this refusal path: readers pay
    no extra query), everyone else that the study is not theirs."""
    if is_dual_role(request.user):
        raise PermissionDenied(DUAL_ROLE_MESSAGE)
    raise NotFound("No such study among yours.")


def _assignment(request: Request, pk: int) -> Assignment:
    assignment = selectors.reader_assignment(reader=request.user, study_id=pk)
    if assignment is None:
        _refuse(request)
    return assignment


def _reader(request: Request, pk: int) -> tuple[Assignment, selectors.ReaderProgress]:
    """The hot path's look-up: the reader's assignment (access checked) and their progress, in one query."""
    state = hotpath.reader_state(reader=request.user, study_id=pk)
    if state is None:
        _refuse(request)
    assignment, done = state
    return assignment, selectors.reader_progress(assignment=assignment, done_case_ids=done)


def _researcher_study(request: Request, pk: int) -> Study | None:
    """The study, if the user has researcher access to it (owner, collaborator, admin)."""
    return researcher_studies(request.user).filter(pk=pk).first()


def _study_full(study: Study) -> dict:
    return {
        **selectors.study_reader_fields(study),
        "title": study.title,
        "reader_title": study.reader_facing_title,
        "design": study.design,
        "source": study.source,
        "created_at": study.created_at.isoformat(),
        "readers": [
            {"pseudonym": r["pseudonym"], "form": r["form"], "done": r["done"], "total": r["total"]}
            for r in selectors.study_dashboard(study=study)["readers"]
        ],
    }


class StudyList(Api):
    @extend_schema(
        operation_id="readerstudy_studies_list",
        responses={200: out.StudyListSerializer, **errors(403)},
        summary="Studies: a reader's own (blinded), or all for researchers",
    )
    def get(self, request: Request) -> Response:
        if is_researcher(request.user):
            studies = [
                {"id": s.pk, "title": s.title, "status": s.status, "n_cases": s.n_cases, "n_readers": s.n_readers}
                for s in selectors.study_list(user=request.user)
            ]
        else:
            studies = []
        mine = [
            {
                "id": a.study_id,
                "assignment": a.pk,
                "title": a.study.reader_facing_title,
                "status": a.study.status,
                "done": p.done,
                "total": p.total,
                "finished": p.finished,
            }
            for a, p in selectors.reader_assignments(reader=request.user)
        ]
        body = {"assigned": mine, "all": studies} if is_researcher(request.user) else {"assigned": mine}
        return Response(out.StudyListSerializer(body).data)


class StudyDetail(Api):
    @extend_schema(
        operation_id="readerstudy_study",
        responses={200: out.STUDY_DETAIL, **errors(403, 404)},
        summary="A study: full for researchers, blinded for its readers",
    )
    def get(self, request: Request, pk: int) -> Response:
        study = _researcher_study(request, pk)
        if study is not None:
            return Response(out.StudyFullSerializer(_study_full(study)).data)
        payload = selectors.reader_study_payload(assignment=_assignment(request, pk))
        return Response(out.ReaderStudySerializer(payload).data)


def _case_response(
    assignment: Assignment, position: int, progress: selectors.ReaderProgress | None = None, rows: list | None = None
) -> dict:
    progress = progress or selectors.reader_progress(assignment=assignment)
    if not selectors.reader_can_view(assignment=assignment, position=position, progress=progress):
        raise NotFound("This case is not available to you now.")
    return selectors.reader_case_payload(assignment=assignment, position=position, progress=progress, rows=rows)


def _record_view(assignment: Assignment, position: int) -> None:
    """Start the server-side clock of the case at `position` (POST only: a GET never writes)."""
    if assignment.study.is_open:
        case = Case(pk=assignment.order[position - 1])
        services.case_view(assignment=assignment, case=case)


class ReaderNext(Api):
    @extend_schema(
        operation_id="readerstudy_reader_next",
        responses={200: out.READER_NEXT, **errors(403, 404, 409)},
        summary="The reader's next unfinished case, or finished=true (409 while the next session's washout runs)",
    )
    def get(self, request: Request, pk: int) -> Response:
        assignment, progress = _reader(request, pk)
        if progress.waiting:
            opens = progress.opens_at.strftime("%Y-%m-%d %H:%M")
            raise NotAllowedError(f"Session {progress.session} opens {opens} UTC, after the washout.")
        if progress.finished:
            body = {"finished": True, "done": progress.done, "total": progress.total}
            return Response(out.allowed(out.ReaderFinishedSerializer, body))
        body = {"finished": False, **_case_response(assignment, progress.current, progress)}
        return Response(out.allowed(out.ReaderNextCaseSerializer, body))


class ReaderCase(Api):
    @extend_schema(
        operation_id="readerstudy_reader_case",
        responses={200: out.ReaderCaseSerializer, **errors(403, 404)},
        summary="The reader's case at a position of their order",
    )
    def get(self, request: Request, pk: int, position: int) -> Response:
        assignment, progress = _reader(request, pk)
        return Response(out.allowed(out.ReaderCaseSerializer, _case_response(assignment, position, progress)))


class ReaderCaseViewed(Api):
    @extend_schema(
        operation_id="readerstudy_reader_case_viewed",
        request=None,
        responses={200: out.ViewedSerializer, **errors(403, 404)},
        summary="The reader has the case at this position on screen (starts its server-side clock)",
    )
    def post(self, request: Request, pk: int, position: int) -> Response:
        assignment, progress = _reader(request, pk)
        if not selectors.reader_can_view(assignment=assignment, position=position, progress=progress):
            raise NotFound("This case is not available to you now.")
        _record_view(assignment, position)
        return Response(out.allowed(out.ViewedSerializer, {"viewed": position}))


class AnswerSubmitSerializer(serializers.Serializer):
    case = serializers.CharField(help_text="The case id shown to the reader (an opaque token).")
    assignment = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        help_text="The assignment the answers were given in (from the reading page); refused unless the sender's.",
    )
    answers = serializers.DictField(
        child=serializers.JSONField(), help_text="Question key -> value ('yes'/'no', 1..K, option, text)."
    )
    complete = serializers.BooleanField(default=False, help_text="Save and finish the case (all required answers).")
    active_ms = serializers.IntegerField(
        default=0, min_value=0, max_value=MAX_ACTIVE_MS, help_text="Client active time since the last save."
    )


def _plain_submission(data) -> dict | None:
    """The submission as `AnswerSubmitSerializer` would validate it, for the plain JSON the reading page sends
    (exact types, values in range); None for anything else. Saves building DRF's fields on every autosave."""
    if type(data) is not dict:
        return None
    case, assignment, answers = data.get("case"), data.get("assignment"), data.get("answers")
    complete, active_ms = data.get("complete", False), data.get("active_ms", 0)
    plain = (
        type(case) is str and case and case == case.strip() and "\x00" not in case
        and type(assignment) is int and 1 <= assignment <= 2**63 - 1
        and type(answers) is dict and all(type(k) is str for k in answers)
        and type(complete) is bool
        and type(active_ms) is int and 0 <= active_ms <= MAX_ACTIVE_MS
    )  # fmt: skip
    if not plain:
        return None
    return {"case": case, "assignment": assignment, "answers": answers, "complete": complete, "active_ms": active_ms}


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: DRF's strict parser refuses them too


def _fast_submit(request: HttpRequest) -> HttpResponse | None:
    """The reading page's save (plain JSON, a logged-in active user, CSRF passed) without DRF's request and
    response machinery, about a tenth of an autosave's CPU; None for anything else, which DRF then handles as
    before (its 403 for a failed login or CSRF check, its 400 for a malformed body). The same checks as DRF's
    SessionAuthentication and IsAuthenticated come first; errors get the body `app_exception_handler` gives."""
    user = request.user
    if request.content_type != "application/json" or not (user.is_authenticated and user.is_active):
        return None
    check = CSRFCheck(lambda r: None)  # as SessionAuthentication.enforce_csrf
    check.process_request(request)
    if check.process_view(request, None, (), {}) is not None:
        return None
    try:
        d = _plain_submission(json.loads(request.body, parse_constant=_reject_constant))
    except ValueError:
        return None
    if d is None:
        return None
    try:
        body = _submit(user, d)
    except AppError as exc:
        body, status = {"detail": exc.message, "errors": exc.errors}, status_of(exc)
        return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    except APIException as exc:  # NotFound of a next case not viewable now
        return JsonResponse({"detail": str(exc.detail)}, status=exc.status_code)
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})


class AnswerSubmit(Api):
    def dispatch(self, request, *args, **kwargs):
        if request.method == "POST" and (fast := _fast_submit(request)) is not None:
            return fast
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        operation_id="readerstudy_answers_submit",
        request=AnswerSubmitSerializer,
        responses={200: out.SubmitResultSerializer, **errors(400, 403, 404, 409)},
        summary="Save a reader's answers",
    )
    def post(self, request: Request) -> Response:
        d = _plain_submission(request.data)
        if d is None:  # anything unusual goes through the serializer, which also words the errors
            data = AnswerSubmitSerializer(data=request.data)
            if not data.is_valid():
                return Response({"detail": "Malformed submission.", "errors": data.errors}, status=400)
            d = data.validated_data
        return Response(_submit(request.user, d))


def _submit(user, d: dict) -> dict:
    """Save a validated submission; the allow-listed response body."""
    result = services.answers_submit(
        reader=user,
        case=Case(token=d["case"]),  # looked up with the reader's assignment, under its lock
        values=d["answers"],
        complete=d["complete"],
        client_active_ms=d["active_ms"],
        assignment_id=d["assignment"],
        view_next=True,  # the reading page shows the case this answer returns (its "viewed" is recorded)
    )
    body = {
        "saved": result.saved,
        "position": result.position,
        "case_completed": result.case_completed,
        "form_completed": result.form_completed,
        "next_position": result.next_position,
    }
    if d["complete"] and result.next_position:
        assignment, progress = result.assignment, result.progress  # checked and locked by the save just now
        if progress.waiting:  # the reader finished a session: the next one waits for the washout
            body["session_break"] = True
        else:  # the save recorded its "viewed" and read its rows (view_next)
            body["next"] = _case_response(assignment, result.next_position, progress, result.next_rows)
    return out.allowed(out.SubmitResultSerializer, body)


class CaseFlagSerializer(serializers.Serializer):
    case = serializers.CharField(help_text="The case id shown to the reader (an opaque token).")
    flagged = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class CaseFlag(Api):
    @extend_schema(
        operation_id="readerstudy_case_flag",
        request=CaseFlagSerializer,
        responses={200: out.FlagSerializer, **errors(400, 403, 404, 409)},
        summary="Flag (or unflag) one of the reader's cases for the researchers, with a comment",
    )
    def post(self, request: Request) -> Response:
        data = CaseFlagSerializer(data=request.data)
        if not data.is_valid():
            return Response({"detail": "Malformed flag.", "errors": data.errors}, status=400)
        d = data.validated_data
        case = Case.objects.filter(token=d["case"]).first()
        if case is None:
            return Response({"detail": "This case is not assigned to you."}, status=status.HTTP_403_FORBIDDEN)
        reading = services.case_flag(reader=request.user, case=case, flagged=d["flagged"], comment=d["comment"])
        return Response(out.FlagSerializer({"flagged": reading.flagged, "comment": reading.flag_comment}).data)


class StudyAnswers(Api):
    @extend_schema(
        operation_id="readerstudy_study_answers",
        responses={200: out.STUDY_ANSWERS, **errors(403, 404)},
        summary="Answers: tidy rows for researchers, own rows for readers",
    )
    def get(self, request: Request, pk: int) -> Response:
        study = _researcher_study(request, pk)
        if study is not None:
            body = {"study": study.pk, "answers": answers_tidy(study=study)}
            return Response(out.ResearcherStudyAnswersSerializer(body).data)
        _assignment(request, pk)
        body = {"study": pk, "answers": selectors.reader_answers(reader=request.user, study_id=pk)}
        return Response(out.ReaderStudyAnswersSerializer(body).data)


class StudyCases(Api):
    permission_classes = [IsAuthenticated, IsResearcher]

    @extend_schema(
        operation_id="readerstudy_study_cases",
        responses={200: out.StudyCasesSerializer, **errors(403, 404)},
        summary="Every case with hidden fields (researchers)",
    )
    def get(self, request: Request, pk: int) -> Response:
        study = _researcher_study(request, pk)
        if study is None:
            raise NotFound("No such study among yours.")
        return Response(out.StudyCasesSerializer({"study": study.pk, "cases": selectors.study_cases(study=study)}).data)
