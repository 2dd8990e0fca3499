"""Talking to the Celery broker: reachability checks and publishing that fails fast instead of hanging."""

from config.celery import app


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
