"""`make demo`: everything a fresh machine needs to show the platform, then the web server in the foreground.

Migrates the embedded database, creates the demo accounts, starts one real Celery worker (both queues)
as a child process, and serves the site until Ctrl-C, when the worker is stopped too.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Set up and run the demo: migrate, demo accounts, a Celery worker and the web server."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--no-server", action="store_true", help="Set up and exit (no worker, no server).")

    def handle(self, *args, host: str, port: str, no_server: bool, **options):
        self.stdout.write("Migrating the database ...")
        call_command("migrate", verbosity=0, interactive=False)
        self.stdout.write("Demo accounts (username / password):")
        call_command("demo_accounts", stdout=self.stdout)
        if no_server:
            return
        worker = start_worker(Path(settings.VAR_DIR) / "demo-worker.log")
        self.stdout.write(self.style.SUCCESS(f"Celery worker started (pid {worker.pid}, log var/demo-worker.log)."))
        self.stdout.write(self.style.SUCCESS(f"\n  Open http://{host}:{port}/  and log in as admin / admin-demo\n"))
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            stop_worker(worker)


def start_worker(log_path: Path, queues: str = "default,gpu") -> subprocess.Popen:
    """A real worker process on both queues, concurrency 1 (the demo machine has 2 cores)."""
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-Q",
        queues,
        "-c",
        "1",
        "--without-mingle",
        "--without-gossip",
        "-l",
        "INFO",
    ]
    log = open(log_path, "ab")  # noqa: SIM115 -- the child owns it for its lifetime
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(), start_new_session=True)


def stop_worker(worker: subprocess.Popen, timeout: float = 10) -> None:
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)  # warm shutdown: the running task finishes its step
    deadline = time.monotonic() + timeout
    while worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
