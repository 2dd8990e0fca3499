"""Project-wide hardening from the security audit (issue 10): logins, sessions, health check, API docs,
the secret key file and the demo accounts. Each test failed before its fix."""

import multiprocessing
import re
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_logins_are_throttled_per_username_and_address(client, researcher):
    login = reverse("login")
    for _ in range(4):
        assert client.post(login, {"username": "researcher1", "password": "wrong"}).status_code == 200
    assert client.post(login, {"username": "researcher1", "password": "wrong"}).status_code == 429, "5th failure"
    locked = client.post(login, {"username": "researcher1", "password": PASSWORD})
    assert locked.status_code == 429, "the right password is refused while locked out"
    assert "_auth_user_id" not in client.session
    # Another user from the same address is not locked out by someone else's typos.
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("other", password=PASSWORD)
    assert client.post(login, {"username": "other", "password": PASSWORD}).status_code == 302


def test_the_login_cookie_expires_when_the_browser_closes(client, reader_a):
    r = client.post(reverse("login"), {"username": "reader_a", "password": PASSWORD})
    assert r.status_code == 302
    cookie = r.cookies["sessionid"]
    assert not cookie["expires"] and not cookie["max-age"], "a session cookie, not a persistent one"


def test_an_idle_reader_is_signed_out(client, reader_a, researcher, settings):
    settings.READER_IDLE_MINUTES = 30
    client.force_login(reader_a)
    assert client.get(reverse("readerstudy:home")).status_code == 200
    session = client.session
    session["idle_last_seen"] = time.time() - 31 * 60
    session.save()
    r = client.get(reverse("readerstudy:home"))
    assert r.status_code == 302 and r.url.startswith("/accounts/login/")
    assert client.get(reverse("readerstudy:api-studies")).status_code == 403
    # Researchers are not readers: their sessions are not cut by the reader timeout.
    client.force_login(researcher)
    session = client.session
    session["idle_last_seen"] = time.time() - 31 * 60
    session.save()
    assert client.get(reverse("readerstudy:home")).status_code == 200


def test_an_active_reader_stays_signed_in_and_the_session_is_not_written_every_request(client, reader_a, settings):
    settings.READER_IDLE_MINUTES = 30
    client.force_login(reader_a)
    client.get(reverse("readerstudy:home"))
    first = client.session["idle_last_seen"]
    client.get(reverse("readerstudy:home"))
    assert client.session["idle_last_seen"] == first, "written at most once a minute"


def test_healthz_tells_anonymous_callers_only_ok_or_error(client, unreachable_broker):
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json() == {"status": "error", "database": "ok", "broker": "error"}
    assert "127.0.0.1" not in r.content.decode() and "redis" not in r.content.decode().lower()


def test_api_docs_load_swagger_ui_from_our_own_static_files(researcher_client):
    html = researcher_client.get("/api/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r'https?://[^"\'\s]+', html)
    assert any("swagger-ui" in s for s in sources)
    external = [s for s in sources if s.startswith(("http://", "https://", "//")) and "testserver" not in s]
    assert external == [], external


def _secret_key_in_process(args):
    path, barrier = args
    from config.secretkey import load_or_create_secret_key

    barrier.wait()
    return load_or_create_secret_key(Path(path))


def test_workers_racing_to_create_the_secret_key_all_get_the_same_complete_key(tmp_path):
    with multiprocessing.Manager() as manager:
        for round_ in range(5):
            path = tmp_path / f"secret_key_{round_}"
            barrier = manager.Barrier(6)
            with multiprocessing.get_context("fork").Pool(6) as pool:
                keys = pool.map(_secret_key_in_process, [(str(path), barrier)] * 6)
            assert len(set(keys)) == 1 and len(keys[0]) > 40
            assert path.read_text().strip() == keys[0]
            assert oct(path.stat().st_mode & 0o777) == "0o600"
            assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".secret_key")] == []


def test_demo_accounts_refuse_to_reset_passwords_outside_debug(settings, admin_user):
    settings.DEBUG = settings.DEMO = False
    with pytest.raises(CommandError, match=r"only with DEMO=1 \(or DEBUG=1\)"):
        call_command("demo_accounts")
    admin_user.refresh_from_db()
    assert admin_user.check_password(PASSWORD)


def test_the_demo_creates_its_accounts_with_debug_off(settings, db):
    from django.contrib.auth import get_user_model

    settings.DEBUG, settings.DEMO = False, True  # `make demo`: the site's own error pages, demo logins
    call_command("demo_accounts")
    assert get_user_model().objects.get(username="admin").check_password("admin-demo")


def test_check_deploy_is_clean_with_the_production_variables(tmp_path):
    from tests.platform_tests.test_settings import run_python

    code = (
        "import django, sys; django.setup(); from django.core.management import call_command; "
        "call_command('check', '--deploy', '--fail-level', 'WARNING')"
    )
    env = {
        "SECRET_KEY": "k" * 60 + "-production-only-Zq9",
        "HTTPS": "1",
        "ALLOWED_HOSTS": "reader.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://reader.example.org",
        "DEBUG": "0",
    }
    out = run_python(code, tmp_path, **env)
    assert out.returncode == 0, out.stderr[-2000:]
