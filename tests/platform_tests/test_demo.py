"""`make demo`'s set-up step on a fresh folder, and its message when the database is unreachable."""

import sqlite3

from tests.platform_tests.test_settings import run_python

DEMO = "import sys; from django.core.management import execute_from_command_line as run; run(sys.argv)"


def run_manage(tmp_path, *args, **env):
    return run_python(f"import sys; sys.argv = ['manage.py', *{list(args)!r}]; {DEMO}", tmp_path, **env)


def test_demo_setup_migrates_a_fresh_sqlite_database_and_creates_the_demo_accounts(tmp_path):
    out = run_manage(tmp_path, "demo", "--no-server", "--no-data", DEBUG="1")
    assert out.returncode == 0, out.stderr
    assert "admin       / admin-demo" in out.stdout and "reader1     / reader1-demo" in out.stdout
    with sqlite3.connect(tmp_path / "var" / "db.sqlite3") as db:
        users = {row[0] for row in db.execute("SELECT username FROM auth_user")}
    assert users == {"admin", "researcher", "reader1", "reader2"}
    again = run_manage(tmp_path, "demo", "--no-server", "--no-data", DEBUG="1")
    assert again.returncode == 0, "running the set-up twice is harmless"


def test_demo_names_database_url_when_the_database_is_unreachable(tmp_path):
    out = run_manage(
        tmp_path, "demo", "--no-server", "--no-data", DATABASE_URL="postgres://nobody@127.0.0.1:1/x", DEBUG="1"
    )
    assert out.returncode != 0
    assert "Cannot reach the database set by DATABASE_URL" in out.stderr
    assert "Traceback" not in out.stderr
