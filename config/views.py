"""Project-wide pages: the home redirect and the health check."""

import logging

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from config.roles import is_admin, is_reader, is_researcher

log = logging.getLogger(__name__)


class LogoutView(auth_views.LogoutView):
    """Sign out and have the browser drop this site's stored data: a reader's unsent answers live in
    localStorage, and the next person at a shared workstation must not send them under their own login."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"storage"'
        return response


def home(request: HttpRequest) -> HttpResponse:
    """Send each kind of user where their work is."""
    user = request.user
    if is_admin(user):
        return redirect("overview")
    if is_researcher(user):
        return redirect("analysis:home")
    if is_reader(user):
        return redirect("readerstudy:home")
    return redirect("no_role")


def no_role(request: HttpRequest) -> HttpResponse:
    from django.shortcuts import render

    return render(request, "no_role.html")


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachability, for load balancers and humans. 503 when either is down."""
    from config.celery import broker_status

    # Anonymous callers get "ok"/"error" only: driver and broker messages name hosts, users and paths.
    # The details go to the log, for the operator.
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not reachable"
        log.error("healthz: database unreachable: %s", exc)
        checks["database"] = "error"
    ok, detail = broker_status()
    if not ok:
        log.error("healthz: broker unreachable: %s", detail)
    checks["broker"] = "ok" if ok else "error"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
