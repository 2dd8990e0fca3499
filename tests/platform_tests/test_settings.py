"""Settings come from the environment with safe defaults, and bad values fail with the variable's name."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']), "
    "'broker': s.CELERY_BROKER_URL, 'artifacts': str(s.ARTIFACT_ROOT), 'debug': s.DEBUG, "
    "'acks_late': s.CELERY_TASK_ACKS_LATE, 'prefetch': s.CELERY_WORKER_PREFETCH_MULTIPLIER, "
    "'transport': s.CELERY_BROKER_TRANSPORT_OPTIONS}))"
)
SERVICE_VARS = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "ARTIFACT_ROOT",
    "DEBUG",
    "DEMO",
    "SECRET_KEY",
    "CELERY_BROKER_DIR",
    "VAR_DIR",
    "HTTPS",
    "ALLOWED_HOSTS",
    "DEMO_SCALE",
)


def run_python(code: str, tmp_path: Path, **env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "VAR_DIR": str(tmp_path / "var"), **env_overrides})
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_defaults_are_embedded_sqlite_filesystem_broker_and_debug_off(tmp_path):
    import json

    out = run_python(PRINT_SETTINGS, tmp_path)
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["name"] == str(tmp_path / "var" / "db.sqlite3")
    assert s["broker"] == "filesystem://"
    assert s["artifacts"] == str(tmp_path / "var" / "artifacts")
    assert s["debug"] is False
    assert s["acks_late"] is True and s["prefetch"] == 1
    assert s["transport"]["polling_interval"] <= 0.2
    assert (tmp_path / "var" / "broker" / "queue").is_dir(), "broker folders are created on start"
    assert s["transport"]["control_folder"] == str(tmp_path / "var" / "broker" / "control"), "not control/ in cwd"


def test_postgres_and_redis_urls_are_used_when_set(tmp_path):
    import json

    out = run_python(
        PRINT_SETTINGS,
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["engine"] == "django.db.backends.postgresql"
    assert s["broker"] == "redis://127.0.0.1:6379/0"
    assert s["transport"]["visibility_timeout"] > 12 * 3600, "must outlast the longest task"


def test_wrong_database_url_names_the_variable_at_startup(tmp_path):
    out = run_python(PRINT_SETTINGS, tmp_path, DATABASE_URL="mysqlx://nonsense")
    assert out.returncode != 0
    assert "DATABASE_URL" in out.stderr and "mysqlx://nonsense" in out.stderr


def test_wrong_broker_url_names_the_variable_at_startup(tmp_path):
    out = run_python(PRINT_SETTINGS, tmp_path, CELERY_BROKER_URL="amqq://x")
    assert out.returncode != 0
    assert "CELERY_BROKER_URL" in out.stderr


def test_wrong_demo_scale_names_the_variable_and_the_choices_at_startup(tmp_path):
    out = run_python(PRINT_SETTINGS, tmp_path, DEMO_SCALE="huge")
    assert out.returncode != 0
    assert "DEMO_SCALE='huge' is not one of tiny, default, large" in out.stderr


def test_check_deploy_is_clean_with_production_variables(tmp_path):
    out = run_python(
        "import sys; from django.core.management import execute_from_command_line as run; "
        "run(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        tmp_path,
        SECRET_KEY="x" * 20 + "-production-secret-key-with-enough-entropy-0123456789",
        DEBUG="0",
        HTTPS="1",
        ALLOWED_HOSTS="prunecxr.example.org",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout
