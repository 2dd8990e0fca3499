"""Login lockouts behind one reverse proxy: every request reaches Django from the proxy's address, and the
client's address is the one the proxy appended to X-Forwarded-For. An attacker who forges the header cannot
lock out a victim; the attacker's own address is what gets locked."""

import ipware  # noqa: F401  (django-axes[ipware]: without it axes ignores every proxy setting)
import pytest
from django.urls import reverse

from config.proxies import axes_ip_settings
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
PROXY = "10.0.0.2"
VICTIM, ATTACKER = "198.51.100.7", "203.0.113.66"


def _login(client, password: str, forwarded: str):
    return client.post(
        reverse("login"),
        {"username": "reader_a", "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.fixture
def one_proxy(settings):
    for name, value in axes_ip_settings(1).items():
        setattr(settings, name, value)


def test_an_attacker_forging_the_victims_address_locks_out_only_itself(one_proxy, reader_a, client):
    # The attacker sends "X-Forwarded-For: <victim>"; the proxy appends the address it really saw.
    for _ in range(6):
        assert _login(client, "wrong", f"{VICTIM}, {ATTACKER}").status_code in (200, 429)
    assert _login(client, PASSWORD, f"{VICTIM}, {ATTACKER}").status_code == 429, "the attacker is locked out"
    victim = _login(client, PASSWORD, VICTIM)  # the victim's browser sends nothing; the proxy appends its address
    assert victim.status_code == 302, "the victim still signs in"


def test_the_victims_own_typos_still_lock_the_victim(one_proxy, reader_a, client):
    for _ in range(5):
        _login(client, "wrong", VICTIM)
    assert _login(client, PASSWORD, VICTIM).status_code == 429
    assert _login(client, PASSWORD, "192.0.2.9").status_code == 302, "another address is not locked"
