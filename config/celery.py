"""The Celery app. All configuration lives in settings.py under the CELERY_ prefix.

Reachability of the broker is checked here (the health check and the job pages both ask), so the
project layer needs no app to answer /healthz."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def broker_status(timeout: float = 2.0) -> tuple[bool, str]:
    """(reachable, detail). Used by /healthz and the job pages."""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
        return True, "ok"
    except Exception as exc:  # kombu raises many transport-specific errors
        return False, f"broker unreachable at {masked_broker_url()}: {exc}"


def masked_broker_url() -> str:
    with app.connection_for_write() as conn:
        return conn.as_uri()  # password masked by kombu
