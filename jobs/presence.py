"""Workers say they are alive: a thread in each Celery worker writes its WorkerPresence row, so the job
pages can tell "no worker listening on gpu" from "position 3 in the gpu queue" without asking the broker."""

import logging
import os
import threading

from celery import signals
from django.conf import settings
from django.db import connections
from django.utils import timezone

log = logging.getLogger(__name__)
_halt = threading.Event()


def _beat(name: str, queues: list[str]) -> None:
    from jobs.models import WorkerPresence

    try:
        while True:
            try:
                WorkerPresence.objects.update_or_create(
                    name=name, defaults={"queues": queues, "pid": os.getpid(), "last_seen": timezone.now()}
                )
            except Exception:  # the database is down: say so in the log, try again at the next beat
                log.warning("worker presence not recorded", exc_info=True)
            if _halt.wait(settings.JOBS_HEARTBEAT_SECONDS):
                return
    finally:
        connections.close_all()


@signals.worker_ready.connect
def _worker_ready(sender=None, **kwargs) -> None:
    prefix = settings.JOBS_QUEUE_PREFIX
    consumed = sorted(sender.app.amqp.queues.consume_from) if sender is not None else []
    queues = [q.removeprefix(prefix) for q in consumed if q.startswith(prefix)]  # logical names
    name = getattr(sender, "hostname", None) or f"worker:{os.getpid()}"
    threading.Thread(target=_beat, args=(name, queues), name="worker-presence", daemon=True).start()


@signals.worker_shutdown.connect
def _worker_shutdown(sender=None, **kwargs) -> None:
    from jobs.models import WorkerPresence

    _halt.set()
    name = getattr(sender, "hostname", None)
    if name:
        try:
            WorkerPresence.objects.filter(name=name).delete()
        except Exception:
            log.warning("worker presence not removed", exc_info=True)
