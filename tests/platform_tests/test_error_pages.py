"""Real error pages with DEBUG off: a 404 that lists no URLs, a 500 that blames no one, static files served."""

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path


def boom(request) -> HttpResponse:
    raise RuntimeError("deliberate failure")


urlpatterns = [path("boom/", boom), path("", include("config.urls"))]

pytestmark = pytest.mark.django_db


def test_unknown_page_gets_the_sites_404_not_the_url_list(settings, researcher_client):
    settings.DEBUG = False
    response = researcher_client.get("/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "Not found" in body and 'href="/"' in body and "PruneCXR" in body
    assert "URLconf" not in body and "urlpatterns" not in body


def test_a_crash_gets_the_sites_500_page(settings, researcher):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(researcher)
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body and "deliberate failure" not in body and "Traceback" not in body


def test_static_files_and_the_favicon_are_served_with_debug_off(settings, client):
    settings.DEBUG = False
    css = client.get("/static/css/base.css")
    assert css.status_code == 200 and b".topbar" in b"".join(css.streaming_content)
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon["Location"].endswith("/static/img/favicon.svg")
    assert client.get(icon["Location"]).status_code == 200
