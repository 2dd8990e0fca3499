"""Reader idle timeout: a reader who has not made a request for READER_IDLE_MINUTES is signed out.

Readers work on shared reading-room workstations, so a forgotten login must not last. The time of the
last request lives in the session and is written at most once a minute (not on every request: each
write is a database UPDATE, and readers make many requests). Whether the user is a reader is looked up
once per session and kept there. Unsent answers survive: the reading page keeps them in the browser
and sends them after the reader signs in again.
"""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse

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
