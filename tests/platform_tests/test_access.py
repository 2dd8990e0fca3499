"""Every page needs a login except the public ones; roles see what they should."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db
PUBLIC = {"/accounts/login/", "/admin/login/", "/healthz", "/favicon.ico"}  # login pages, health check, icon


def all_paths(resolver=None, prefix: str = "") -> list[str]:
    """Every URL in the project, with path converters filled by plausible values."""
    import re

    resolver = resolver or get_resolver()
    paths = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            paths += all_paths(entry, route)
        elif isinstance(entry, URLPattern):
            if route.startswith("^") or "(?P" in route:  # regex routes (admin internals): covered by admin login
                continue
            route = re.sub(r"<int:\w+>", "1", route)
            route = re.sub(r"<(?:str|slug|uuid|path):?\w*>", "x", route)
            route = re.sub(r"<\w+>", "x", route)
            paths.append("/" + route)
    return sorted(set(paths))


def test_project_has_many_urls_to_check():
    assert len(all_paths()) > 10


@pytest.mark.parametrize("path", all_paths())
def test_anonymous_users_get_only_the_login_page(client, path):
    response = client.get(path)
    if path in PUBLIC:
        assert response.status_code in (200, 301, 503)
        return
    assert response.status_code in (301, 302, 401, 403, 404, 405), f"{path} answered {response.status_code}"
    if response.status_code in (301, 302):
        assert "/login/" in response.url, f"{path} redirected to {response.url}"
    if response.status_code == 200:
        raise AssertionError(f"{path} is visible anonymously")


def test_home_sends_each_role_where_it_belongs(admin_client_, researcher_client, reader_a_client):
    assert admin_client_.get("/").url == "/overview/"
    assert researcher_client.get("/").url == "/reports/"
    assert reader_a_client.get("/").url == "/study/"


def test_readers_cannot_see_jobs_and_only_admins_start_them(reader_a_client, researcher_client):
    assert reader_a_client.get("/jobs/").status_code == 403
    assert researcher_client.get("/jobs/").status_code == 200
    assert researcher_client.post("/jobs/start/", {"kind": "selfcheck"}).status_code == 403


def test_starting_an_unknown_job_kind_shows_a_message_not_a_traceback(admin_client_):
    response = admin_client_.post("/jobs/start/", {"kind": "bogus"}, follow=True)
    assert response.status_code == 200
    assert "Unknown job kind" in response.content.decode()


def test_job_list_says_when_the_broker_is_unreachable(admin_client_, unreachable_broker):
    html = admin_client_.get("/jobs/").content.decode()
    assert "broker unreachable" in html


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_login_page_logs_a_user_in(client, researcher):
    from tests.conftest import PASSWORD

    response = client.post("/accounts/login/", {"username": "researcher1", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/reports/").status_code == 200
    bad = client.post("/accounts/logout/")
    assert bad.status_code == 302
    assert client.post("/accounts/login/", {"username": "researcher1", "password": "wrong"}).status_code == 200
