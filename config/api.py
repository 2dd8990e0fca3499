"""The JSON API's shared edge: the base view, the researcher permission, the error body and the one place
that turns an `AppError` into an HTTP status.

Services raise domain errors (`common.errors`); `app_exception_handler` (settings.REST_FRAMEWORK's
EXCEPTION_HANDLER) answers them with ``{"detail": ..., "errors": ...}`` and the status of the first class
in `STATUS` they derive from. Every other exception goes to DRF's own handler.
"""

from django.contrib.auth.decorators import login_not_required
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from common.errors import AppError, Conflict, NotAllowed, NotFound
from config.roles import is_researcher

# Most specific first: a class deriving from two of these takes the first that matches.
STATUS: tuple[tuple[type[AppError], int], ...] = ((NotAllowed, 403), (NotFound, 404), (Conflict, 409), (AppError, 400))


def status_of(exc: AppError) -> int:
    """The HTTP status an `AppError` answers with (400 for any other subclass)."""
    return next(code for cls, code in STATUS if isinstance(exc, cls))


def app_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, AppError):
        return Response({"detail": exc.message, "errors": exc.errors}, status=status_of(exc))
    return exception_handler(exc, context)


class IsResearcher(BasePermission):
    message = "This endpoint is for researchers and admins."

    def has_permission(self, request, view) -> bool:
        return is_researcher(request.user)


class Api(APIView):
    """Exempt from the login middleware, so DRF answers an anonymous call with a JSON 403 instead of a redirect
    to the login page; DRF's IsAuthenticated still guards every endpoint."""

    permission_classes = [IsAuthenticated]

    @classmethod
    def as_view(cls, **initkwargs):
        return login_not_required(super().as_view(**initkwargs))


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words.")
    errors = serializers.JSONField(required=False, help_text="Per-field or per-question problems, when any.")


def errors(*codes: int) -> dict:
    """The error responses of an endpoint, for extend_schema(responses=...)."""
    return {code: ErrorSerializer for code in codes}
