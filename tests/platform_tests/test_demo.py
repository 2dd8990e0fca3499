"""`make demo`'s set-up step on a fresh folder, its message when the database is unreachable, and the
whole demo chain at DEMO_SCALE=tiny run twice (the second run reuses everything)."""

import os
import sqlite3
import subprocess
import sys

import pytest

from tests.platform_tests.test_settings import ROOT, SERVICE_VARS, run_python

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


def run_demo_here(tmp_path, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", VAR_DIR=str(tmp_path / "var"), DEMO_SCALE="tiny", DEMO="1")
    cmd = [sys.executable, "manage.py", "demo", "--no-server", "--here", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_demo_here_runs_the_whole_chain_at_tiny_scale_and_a_second_run_reuses_it(tmp_path):
    first = run_demo_here(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout
    stages = ("[1/6] dataset:", "[2/6] train, prune, PIEs, report:", "[3/6] methods compared:", "[4/6] reader study:")
    for stage in (*stages, "[5/6] readers:"):
        assert stage in out
    assert "comparison of 2 methods: /reports/experiments/1/methods/" in out
    assert "int8_static vs l1 (pruning level" in out  # the equal-size statement, whatever it says
    assert "4 PIEs of 80 test images, report #1" in out  # floor(0.05 * 80 test images)
    assert "leave-one-seed-out Jaccard of the PIE set: mean" in out  # the selection's diagnostics
    assert "study #1: 2 forms x 4 cases (2 PIEs each), opened" in out
    # 2 readers x (4 cases + 1 hidden repeat) x 3 ratings, counted as readerstudy.counts defines them.
    assert "2 simulated readers gave 24 answers to " in out
    assert "and 6 to hidden repeats (2 repeat pairs), marked simulated" in out
    assert ": 24 answers, 2 repeat pairs (" in out  # the statistics count the same
    assert "[6/6] statistics: statistics of study #1" in out
    assert "Demo chain done: dataset" in out and "total" in out
    assert out.count("p = ") == 4 and "rare classes are forgotten first" in out  # the findings, with p-values
    with sqlite3.connect(tmp_path / "var" / "db.sqlite3") as db:
        status = dict(db.execute("SELECT title, status FROM readerstudy_study"))
        assigned = {
            r[0]
            for r in db.execute("SELECT username FROM auth_user u JOIN readerstudy_assignment a ON a.reader_id = u.id")
        }
        jobs = db.execute("SELECT COUNT(*) FROM pruning_job").fetchone()[0]
        collaborators = {
            r[0]
            for r in db.execute(
                "SELECT username FROM auth_user u JOIN readerstudy_study_collaborators c ON c.user_id = u.id"
            )
        }
    assert list(status.values()) == ["open"] and {"reader1", "reader2"} <= assigned
    assert collaborators == {"researcher"}, "the demo researcher sees the demo study (per-study access)"

    again = run_demo_here(tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "reused dataset 'synthetic-demo-tiny'" in again.stdout and "reused study #1" in again.stdout
    assert "reused the simulated readers' answers" in again.stdout
    with sqlite3.connect(tmp_path / "var" / "db.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM pruning_job").fetchone()[0] == jobs  # nothing ran again


@pytest.mark.django_db(transaction=True)
def test_demo_here_exits_non_zero_naming_the_stage_that_failed(monkeypatch, settings):
    settings.DEMO = True
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from analysis import demo

    def broken(run):
        raise ValueError("no images")

    monkeypatch.setattr(demo, "STAGES", [("dataset", broken)])
    with pytest.raises(CommandError, match=r"stage 1 \(dataset\) failed: ValueError: no images"):
        call_command("demo", "--no-server", "--here", "--scale", "tiny")


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


def test_sigterm_to_make_demo_stops_server_worker_and_beat_and_nothing_stays_listening(tmp_path):
    """What `docker stop` or `kill <make>` does: make forwards SIGTERM to its child, which `exec` made the
    demo process itself; it stops the worker (beat runs inside it) and the server, and the port is free."""
    import re
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in (*SERVICE_VARS, "CELERY_BEAT_SCHEDULE_FILENAME")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1")
    env.pop("MAKEFLAGS", None)
    # -o: never re-install the virtualenv from the test; --no-data: the server and worker only.
    cmd = ["make", "-s", "-o", ".venv/.installed", "demo", f"PORT={port}", "DEMO_ARGS=--no-data"]
    make = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, worker_pid = "", None
        deadline = time.monotonic() + 120
        # Read up to the log-file line through readline: communicate() below reads the pipe itself and would
        # miss whatever readline had already buffered.
        while "Server log:" not in output and time.monotonic() < deadline and make.poll() is None:
            output += make.stdout.readline()
            if m := re.search(r"Celery worker started \(pid (\d+)", output):
                worker_pid = int(m.group(1))
        assert worker_pid, output
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the server is listening
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            raise AssertionError(f"nothing listens on {port}:\n{output}")
        urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=30).read()
        make.send_signal(signal.SIGTERM)
        rest, _ = make.communicate(timeout=60)
    finally:
        if make.poll() is None:
            make.kill()
    assert f"Celery worker (pid {worker_pid}) stopped." in rest, output + rest
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(worker_pid, 0)  # the worker's group: worker, pool and the embedded beat
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the worker's process group {worker_pid} outlived make")
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still has a listener"
    # The terminal has the demo's lines, not the request log (that goes to a file).
    assert "demo-server.log" in output + rest and '"GET ' not in output + rest
    assert '"GET /accounts/login/' in (tmp_path / "var" / "demo-server.log").read_text()
