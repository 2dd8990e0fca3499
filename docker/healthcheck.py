"""Container health checks, one per role: `python docker/healthcheck.py web|worker|beat`; exit 0 when healthy.

web:    GET /healthz on the container's own port, sent as a request that passes the settings whatever they
        say: the Host header is one ALLOWED_HOSTS accepts (a bare "localhost" is refused when the list names
        only the public host), and with HTTPS=1 the X-Forwarded-Proto header the TLS proxy would add, so
        SECURE_SSL_REDIRECT does not answer 301 to an https URL nobody listens on inside the container.
worker: a Celery ping to this worker's own node (CELERY_NODE@hostname), so a worker that lost its broker or
        hangs is unhealthy, not just alive.
beat:   the broker answers and the schedule file was written recently (beat syncs it every few minutes).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path


def healthcheck_host(allowed_hosts: str) -> str:
    """A Host header that Django's ALLOWED_HOSTS (comma-separated, as settings read it) accepts."""
    hosts = [h.strip() for h in allowed_hosts.split(",") if h.strip()]
    for host in hosts:
        if host == "*":
            return "localhost"
        if "*" not in host:
            return host.lstrip(".")  # ".example.org" allows example.org itself
    return "localhost"


def env_true(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def web_request_headers(environ: Mapping[str, str]) -> dict[str, str]:
    """The headers of the web check's request, from the same variables the settings read."""
    headers = {"Host": healthcheck_host(environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]"))}
    if env_true(environ.get("HTTPS")):
        headers["X-Forwarded-Proto"] = "https"  # settings trust it when HTTPS=1 (SECURE_PROXY_SSL_HEADER)
    return headers


def check_web() -> str:
    headers = web_request_headers(os.environ)
    host = headers["Host"]
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz"
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=8) as resp:
        body = json.loads(resp.read())
    if body.get("status") != "ok":
        raise RuntimeError(f"/healthz says {body}")
    return f"/healthz ok (Host: {host})"


def check_worker() -> str:
    from config.celery import app

    node = f"{os.environ.get('CELERY_NODE', 'celery')}@{socket.gethostname()}"
    replies = app.control.ping(destination=[node], timeout=float(os.environ.get("HEALTHCHECK_TIMEOUT", "10")))
    if not any(node in reply for reply in replies):
        raise RuntimeError(f"no pong from {node}")
    return f"{node} answered"


def check_beat() -> str:
    from config.celery import broker_status

    ok, detail = broker_status()
    if not ok:
        raise RuntimeError(detail)
    schedule = Path(os.environ.get("CELERY_BEAT_SCHEDULE_FILENAME", "/tmp/celerybeat-schedule"))
    files = list(schedule.parent.glob(schedule.name + "*"))  # dbm backends add suffixes
    if not files:
        raise RuntimeError(f"no schedule file {schedule}*")
    age = time.time() - max(f.stat().st_mtime for f in files)
    if age > float(os.environ.get("BEAT_MAX_AGE_SECONDS", "600")):
        raise RuntimeError(f"schedule file not written for {age:.0f} s")
    return f"broker ok, schedule written {age:.0f} s ago"


CHECKS = {"web": check_web, "worker": check_worker, "beat": check_beat}


def main(argv: list[str]) -> int:
    role = argv[1] if len(argv) > 1 else "web"
    try:
        print(CHECKS[role]())
        return 0
    except Exception as exc:  # any failure is "unhealthy"; say why in `docker inspect`
        print(f"{role} unhealthy: {exc}")
        return 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # /app, for config.celery
    sys.exit(main(sys.argv))
