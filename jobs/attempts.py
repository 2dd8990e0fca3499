"""What a running attempt carries: a heartbeat thread, and the progress callback its runner calls.

The heartbeat comes from a thread, independent of progress calls, so a 20-minute epoch never looks dead;
it stops when the process dies (SIGKILL, OOM killer, the hard time limit), which is what the reaper sees.
"""

import contextlib
import logging
import threading
import time

from django.db import connections

from common.progress import Cancelled
from jobs import services

log = logging.getLogger(__name__)
PROGRESS_WRITE_INTERVAL = 0.5  # seconds between progress writes; a throttled one goes out with the next beat


class Heartbeat(threading.Thread):
    """Writes the attempt's heartbeat every ``interval`` seconds until stopped or the job is lost."""

    def __init__(self, attempt: services.Attempt, interval: float):
        super().__init__(name=f"job-{attempt.job_id}-heartbeat", daemon=True)
        self.attempt = attempt
        self.interval = max(0.05, float(interval))
        self.lost = threading.Event()  # cancelled or superseded: the runner stops at its next progress call
        self._halt = threading.Event()
        # Progress the runner's throttle held back; written with the next beat, so a runner that goes silent
        # right after a burst of progress calls (one long epoch) still shows where it stands.
        self.write_lock = threading.Lock()
        self.pending: tuple[int, int, str] | None = None

    def beat(self) -> bool | None:
        with self.write_lock:
            pending, self.pending = self.pending, None
            if pending is None:
                return services.job_heartbeat(attempt=self.attempt)
            try:
                done, total, message = pending
                services.job_report_progress(attempt=self.attempt, done=done, total=total, message=message)
            except Cancelled:  # Superseded too
                return False
            return True

    def run(self) -> None:
        try:
            while not self._halt.wait(self.interval):
                try:
                    if self.beat() is False:
                        self.lost.set()
                        return
                except Exception:  # a database hiccup: try again at the next beat
                    log.warning("job %s: heartbeat failed", self.attempt.job_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connections

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=max(5.0, 2 * self.interval))


class AttemptProgress:
    """``progress(done, total, message)`` for a runner: throttled progress writes that raise Cancelled or
    Superseded once the attempt lost the job, and ``fence()`` for the runner's own writes."""

    def __init__(self, attempt: services.Attempt, heartbeat: Heartbeat | None = None, echo=None):
        self.attempt = attempt
        self.heartbeat = heartbeat
        self.echo = echo
        self._last_write = 0.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if self.echo is not None:
            self.echo(done, total, message)
        if self.heartbeat is not None and self.heartbeat.lost.is_set():
            raise services.stop_signal(self.attempt)
        now = time.monotonic()
        lock = self.heartbeat.write_lock if self.heartbeat is not None else contextlib.nullcontext()
        with lock:
            if done >= total or now - self._last_write >= PROGRESS_WRITE_INTERVAL:
                self._last_write = now
                if self.heartbeat is not None:
                    self.heartbeat.pending = None
                services.job_report_progress(attempt=self.attempt, done=done, total=total, message=message)
            elif self.heartbeat is not None:
                self.heartbeat.pending = (done, total, message)

    def fence(self):
        """A context manager: the block's writes land only while this attempt owns the job."""
        return services.job_fence(attempt=self.attempt)


def fenced(progress):
    """``progress.fence()`` when the caller runs as a job attempt, else a no-op (a command, a test)."""
    fence = getattr(progress, "fence", None)
    return fence() if fence is not None else contextlib.nullcontext()
