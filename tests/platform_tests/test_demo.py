"""`make demo`'s set-up step on a fresh folder, and its message when the database is unreachable."""

import sqlite3

from tests.platform_tests.test_settings import run_python

DEMO = "import sys; from django.core.management import execute_from_command_line as run; run(sys.argv)"


def run_manage(tmp_path, *args, **env):
    return run_python(f"import sys; sys.argv = ['manage.py', *{list(args)!r}]; {DEMO}", tmp_path, **env)


def test_demo_setup_migrates_a_fresh_sqlite_database_and_creates_the_demo_accounts(tmp_path):
    out = run_manage(tmp_path, "demo", "--no-server", "--no-data", DEMO="1")
    assert out.returncode == 0, out.stderr
    assert "admin       / admin-demo" in out.stdout and "reader1     / reader1-demo" in out.stdout
    with sqlite3.connect(tmp_path / "var" / "db.sqlite3") as db:
        users = {row[0] for row in db.execute("SELECT username FROM auth_user")}
    assert users == {"admin", "researcher", "reader1", "reader2"}
    again = run_manage(tmp_path, "demo", "--no-server", "--no-data", DEMO="1")
    assert again.returncode == 0, "running the set-up twice is harmless"


def test_demo_names_database_url_when_the_database_is_unreachable(tmp_path):
    out = run_manage(
        tmp_path, "demo", "--no-server", "--no-data", DATABASE_URL="postgres://nobody@127.0.0.1:1/x", DEMO="1"
    )
    assert out.returncode != 0
    assert "Cannot reach the database set by DATABASE_URL" in out.stderr
    assert "Traceback" not in out.stderr


def test_sigterm_stops_the_demo_and_its_worker(tmp_path):
    import os
    import re
    import signal
    import socket
    import subprocess
    import sys
    import time

    from tests.platform_tests.test_settings import ROOT, SERVICE_VARS

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in (*SERVICE_VARS, "CELERY_BEAT_SCHEDULE_FILENAME")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1")
    env["DEMO"] = "1"  # as `make demo` runs it (demo accounts allowed, DEBUG off)
    cmd = [sys.executable, "manage.py", "demo", "--no-data", "--port", str(port)]
    demo = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, worker_pid = "", None
        deadline = time.monotonic() + 120
        while "Open http://" not in output and time.monotonic() < deadline:
            output += demo.stdout.readline()
            if m := re.search(r"Celery worker started \(pid (\d+)", output):
                worker_pid = int(m.group(1))
        assert worker_pid, output
        time.sleep(1)  # the web server is serving
        demo.send_signal(signal.SIGTERM)
        rest, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert f"Celery worker (pid {worker_pid}) stopped." in rest
    try:
        os.kill(worker_pid, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError(f"worker {worker_pid} still runs after the demo got SIGTERM")
