"""Case images are served after the same permission check either way (issue 22): by Django as a file that
gunicorn sends with sendfile (wsgi.file_wrapper), or, with READER_IMAGES_X_ACCEL, as an X-Accel-Redirect to
the file's internal path for nginx to send."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, RequestFactory
from django.urls import reverse

from readerstudy.models import Assignment, Case

pytestmark = pytest.mark.django_db


def _own_case(study, reader, other) -> Case:
    """A case on `reader`'s form and not on `other`'s."""
    mine = Assignment.objects.get(study=study, reader=reader).order
    theirs = set(Assignment.objects.get(study=study, reader=other).order)
    return Case.objects.get(pk=next(c for c in mine if c not in theirs))


def test_by_default_the_file_is_streamed_without_naming_it(study, reader_a, reader_b, reader_a_client, settings):
    settings.READER_IMAGES_X_ACCEL = ""
    case = _own_case(study, reader_a, reader_b)
    r = reader_a_client.get(reverse("readerstudy:image", args=[case.token]))
    assert r.status_code == 200 and r["Content-Type"] == "image/png" and r.streaming
    assert "X-Accel-Redirect" not in r and "Content-Disposition" not in r
    body = b"".join(r.streaming_content)
    assert body == (Path(settings.ARTIFACT_ROOT) / case.image).read_bytes() and body.startswith(b"\x89PNG")
    assert r["Content-Length"] == str(len(body)) and r["Cache-Control"] == "private, max-age=3600"


def test_under_wsgi_the_file_goes_to_the_servers_file_wrapper(study, reader_a, reader_b, settings):
    """Django hands a FileResponse's file to wsgi.file_wrapper (gunicorn's sends it with sendfile)."""
    settings.READER_IMAGES_X_ACCEL = ""
    case = _own_case(study, reader_a, reader_b)
    wrapped = []

    class FileWrapper:
        def __init__(self, filelike, block_size=8192):
            wrapped.append(filelike)
            self.filelike = filelike

        def __iter__(self):
            yield self.filelike.read()

    client = Client()
    client.force_login(reader_a)
    request = RequestFactory().get(reverse("readerstudy:image", args=[case.token]))
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    environ = {**request.environ, "wsgi.file_wrapper": FileWrapper, "HTTP_COOKIE": cookie}
    statuses = []
    # As Django's test client does: the test's database connection must survive the request's end.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        body = b"".join(WSGIHandler()(environ, lambda status, headers: statuses.append(status)))
        wrapped[0].close()  # as the server does: Django made it the response's close (request_finished)
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)
    assert statuses == ["200 OK"] and len(wrapped) == 1
    assert Path(wrapped[0].name).resolve() == (Path(settings.ARTIFACT_ROOT) / case.image).resolve()
    assert body.startswith(b"\x89PNG")


def test_with_x_accel_the_response_names_the_internal_path_only(study, reader_a, reader_b, reader_a_client, settings):
    settings.READER_IMAGES_X_ACCEL = "/_images/"
    case = _own_case(study, reader_a, reader_b)
    r = reader_a_client.get(reverse("readerstudy:image", args=[case.token]))
    assert r.status_code == 200 and r["Content-Type"] == "image/png" and r.content == b""
    assert r["X-Accel-Redirect"] == f"/_images/{case.image}"
    assert (Path(settings.ARTIFACT_ROOT) / r["X-Accel-Redirect"].removeprefix("/_images/")).is_file()
    assert r["Cache-Control"] == "private, max-age=3600" and r["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("accel", ["", "/_images/"])
def test_another_reader_gets_no_image_and_no_redirect(study, reader_a, reader_b, reader_b_client, settings, accel):
    """Not on their form: 404 (blinding: a refusal must not say that the case exists), either way."""
    settings.READER_IMAGES_X_ACCEL = accel
    case = _own_case(study, reader_a, reader_b)
    r = reader_b_client.get(reverse("readerstudy:image", args=[case.token]))
    assert r.status_code == 404 and "X-Accel-Redirect" not in r
