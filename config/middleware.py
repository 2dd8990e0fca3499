"""Edge middleware: clean input (below) and the reader idle timeout.

Reader idle timeout: a reader who has not made a request for READER_IDLE_MINUTES is signed out.

Readers work on shared reading-room workstations, so a forgotten login must not last. The time of the
last request lives in the session and is written at most once a minute (not on every request: each
write is a database UPDATE, and readers make many requests). Whether the user is a reader is looked up
once per session and kept there. Unsent answers survive: the reading page keeps them in the browser
and sends them after the reader signs in again.
"""

import re
import time
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseBadRequest, JsonResponse

from config.roles import is_reader

LAST_SEEN = "idle_last_seen"
IS_READER = "idle_is_reader"
WRITE_EVERY_S = 60


class ReaderIdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timeout_s = 60 * getattr(settings, "READER_IDLE_MINUTES", 0)
        if timeout_s > 0 and request.user.is_authenticated:
            session = request.session
            if IS_READER not in session:
                session[IS_READER] = is_reader(request.user)
            if session[IS_READER]:
                now = time.time()
                last = session.get(LAST_SEEN, now)
                if now - last > timeout_s:
                    logout(request)
                    if "/api/" in request.path:
                        return JsonResponse({"detail": "Signed out after a period of inactivity."}, status=403)
                    return redirect_to_login(request.get_full_path())
                if LAST_SEEN not in session or now - last >= WRITE_EVERY_S:
                    session[LAST_SEEN] = now
        return self.get_response(request)


# --- bad input at the edge --------------------------------------------------------------------------------

MAX_PATH = 2048  # characters of the decoded path
MAX_VALUE = 4096  # characters of one query or path parameter
MAX_ID = 2**63 - 1  # the largest id a database column holds (SQLite and PostgreSQL bigint)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # in a query value: tab, CR and LF may be text
_PATH_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # no path of ours holds any control character


def _bad_request(request, message: str):
    if "/api/" in request.path_info:
        return JsonResponse({"detail": message}, status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


class CleanInputMiddleware:
    """Refuse, with a 400 that says why, URLs no page can mean: control characters (NUL breaks PostgreSQL
    text), bytes that are not UTF-8, overlong values; and answer ids beyond any database column with a 404
    (SQLite raises OverflowError on them). One place for every URL, before any view or query runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = self._problem(request)
        if problem:
            return _bad_request(request, problem)
        return self.get_response(request)

    @staticmethod
    def _problem(request) -> str:
        path = request.path_info
        if len(path) > MAX_PATH:
            return "The address is too long."
        if _PATH_CONTROL.search(path):
            return "The address holds a control character."
        raw = request.META.get("QUERY_STRING", "")
        try:
            query = unquote_to_bytes(raw.replace("+", " ")).decode("utf-8")
            unquote_to_bytes(path.encode("utf-8")).decode("utf-8")  # the path's re-percent-encoded broken bytes
        except UnicodeDecodeError:
            return "The address is not valid UTF-8."
        if _CONTROL.search(query):
            return "A parameter holds a control character."
        if any(len(v) > MAX_VALUE for values in request.GET.lists() for v in values[1]):
            return "A parameter is too long."
        return ""

    @staticmethod
    def process_view(request, view_func, view_args, view_kwargs):
        for value in (*view_args, *view_kwargs.values()):
            if isinstance(value, int) and not 0 <= value <= MAX_ID:
                raise Http404("No such object.")
            if isinstance(value, str) and len(value) > MAX_VALUE:
                return _bad_request(request, "A parameter is too long.")
        return None
