"""`make demo`: the whole story on a fresh machine, with the site up at once.

Migrates the embedded database and creates the demo accounts, starts one real Celery worker (both queues)
and the web server, and meanwhile runs the demo chain (analysis/demo.py, sized by DEMO_SCALE): render the
synthetic CXR-LT, train and prune several seeds, select PIEs, write the report, build and open the default
reader study, assign it to the demo readers, let simulated readers fill two forms, compute the statistics.
Every job shows its progress on the job pages; this terminal prints each stage and its time. Running it
again reuses everything that exists. Ctrl-C stops the server and the worker.

`manage.py demo --no-server --here` runs the same chain in this process (no worker, no server), prints
each stage's time and the synthetic findings with their p-values, and exits non-zero if a stage fails.
"""

import logging
import logging.config
import signal
import threading
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connections

from analysis.core.planted_findings import findings_lines
from analysis.demo import DemoRun, DemoStageError, run_demo
from analysis.demo_scales import SCALES, demo_scale
from jobs.worker import start_worker, stop_worker


class Command(BaseCommand):
    help = "Set up and run the demo chain: a Celery worker and the web server, or --here in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--no-server", action="store_true", help="No worker and no web server.")
        parser.add_argument("--here", action="store_true", help="Run the chain in this process (with --no-server).")
        parser.add_argument("--no-data", action="store_true", help="Skip the chain (migrate and accounts only).")
        parser.add_argument("--scale", choices=sorted(SCALES), help="Overrides the DEMO_SCALE setting.")

    def handle(self, *args, host: str, port: str, no_server: bool, here: bool, no_data: bool, scale, **options):
        if here and not no_server:
            raise CommandError("--here runs the chain without a worker; use it with --no-server.")
        self.stdout.write("Migrating the database ...")
        try:
            call_command("migrate", verbosity=0, interactive=False)
        except OperationalError as exc:
            raise CommandError(
                f"Cannot reach the database set by DATABASE_URL ({settings.DATABASES['default']['ENGINE']}, "
                f"{settings.DATABASES['default']['NAME']}): {exc}. Unset DATABASE_URL to use the embedded SQLite."
            ) from None
        self.stdout.write("Demo accounts (username / password):")
        call_command("demo_accounts", stdout=self.stdout)
        chain = None if no_data else DemoRun(scale=demo_scale(scale or settings.DEMO_SCALE), here=here, write=self.say)
        var = Path(settings.VAR_DIR)
        if chain is not None and not here:
            # The terminal shows the stage lines; every job's progress goes to a file (also on the Jobs page).
            chain.progress = _line_file(var / "demo-jobs.log")
        if no_server:
            if chain is not None and here:
                self.run_here(chain)
            return
        # SIGTERM (docker stop, systemd, kill) ends the demo like Ctrl-C does, so the worker is stopped too
        # instead of being orphaned in its own process group.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        worker = None
        try:
            # -B: Celery beat inside the worker runs the reaper, which brings back jobs lost with a worker.
            worker = start_worker(Path(settings.VAR_DIR) / "demo-worker.log", beat=True)
            self.stdout.write(self.style.SUCCESS(f"Celery worker started (pid {worker.pid}, log {worker.log_path})."))
            self.stdout.write(self.style.SUCCESS(f"\n  Open http://{host}:{port}/  and log in as admin / admin-demo\n"))
            self.stdout.write(f"Server log: {var / 'demo-server.log'}; job progress: {var / 'demo-jobs.log'}.")
            _server_log_to(var / "demo-server.log")
            self.stdout.flush()
            if chain is not None:
                threading.Thread(target=self.run_in_background, args=(chain,), daemon=True, name="demo-chain").start()
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            if worker is not None:
                stop_worker(worker)
                self.stdout.write(f"Celery worker (pid {worker.pid}) stopped.")

    def say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def run_here(self, chain: DemoRun) -> None:
        self.say(f"Demo chain at scale {chain.scale.name!r}, in this process:")
        try:
            run_demo(chain)
        except DemoStageError as exc:
            raise CommandError(str(exc)) from None
        self.report(chain)

    def run_in_background(self, chain: DemoRun) -> None:
        self.say(f"Demo chain at scale {chain.scale.name!r}; the site is up meanwhile (progress on Jobs).")
        try:
            run_demo(chain)
            self.report(chain)
        except Exception as exc:  # the server keeps running; say what stopped the chain
            self.stderr.write(f"Demo chain stopped: {exc}")
        finally:
            connections.close_all()

    def report(self, chain: DemoRun) -> None:
        times = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in chain.timings.items())
        self.say(self.style.SUCCESS(f"Demo chain done: {times}."))
        report = chain.objects.get("report")
        if report is not None:
            report.refresh_from_db()
            for line in findings_lines(report.summary or {}):
                self.say(line)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _line_file(path: Path):
    """A writer appending each line to `path` (opened per line, so the file can be tailed or rotated)."""

    def write(line: str) -> None:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    return write


def _server_log_to(path: Path) -> None:
    """The web server's request log into a file, so the terminal keeps the demo's own lines.

    Into settings.LOGGING, not just onto the logger: runserver's WSGI set-up runs django.setup() again,
    which re-applies that dict (and would drop a handler added here by hand)."""
    handler = {"class": "logging.FileHandler", "filename": str(path), "encoding": "utf-8", "formatter": "demo"}
    settings.LOGGING.setdefault("formatters", {})["demo"] = {"format": "[{asctime}] {message}", "style": "{"}
    settings.LOGGING.setdefault("handlers", {})["demo_server"] = handler
    loggers = settings.LOGGING.setdefault("loggers", {})
    for name in ("django.server", "django.request"):
        loggers[name] = {"handlers": ["demo_server"], "level": "INFO", "propagate": False}
    logging.config.dictConfig(settings.LOGGING)
