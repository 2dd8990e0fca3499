"""Loaded with `-p tests.isolation` before Django reads its settings: gives every pytest run its own test
database, broker folder (or Redis key prefix), beat schedule and artifact root, so concurrent runs (and a
running demo) never see each other's jobs, messages or files. Removed again when the run ends."""

import os
import shutil
import uuid
from pathlib import Path

RUN_ID = str(os.getpid())
_VAR = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parent.parent / "var")).resolve()
_OWNED = {
    "CELERY_BROKER_DIR": _VAR / f"test-broker-{RUN_ID}",
    "ARTIFACT_ROOT": _VAR / f"test-artifacts-{RUN_ID}",
    "TEST_BEAT_DIR": _VAR / f"test-beat-{RUN_ID}",
}
os.environ["TEST_RUN_ID"] = RUN_ID
for name, path in _OWNED.items():
    os.environ.setdefault(name, str(path))
_OWNED["TEST_BEAT_DIR"].mkdir(parents=True, exist_ok=True)
os.environ.setdefault("CELERY_BEAT_SCHEDULE_FILENAME", str(_OWNED["TEST_BEAT_DIR"] / "schedule"))
# On a shared Redis (CI), every key of this run (queues, unacked messages) starts with its own prefix.
os.environ.setdefault("CELERY_BROKER_KEY_PREFIX", f"test-{RUN_ID}-{uuid.uuid4().hex[:8]}:")


def pytest_unconfigure(config):
    for path in _OWNED.values():
        shutil.rmtree(path, ignore_errors=True)
