"""Loaded with `-p tests.isolation` before Django reads its settings: gives every pytest run its own test
database, broker folder and artifact root, so concurrent runs (and a running demo) never see each other's
jobs or files. Removed again when the run ends."""

import os
import shutil
from pathlib import Path

RUN_ID = str(os.getpid())
_VAR = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parent.parent / "var")).resolve()
_OWNED = {
    "CELERY_BROKER_DIR": _VAR / f"test-broker-{RUN_ID}",
    "ARTIFACT_ROOT": _VAR / f"test-artifacts-{RUN_ID}",
}
os.environ["TEST_RUN_ID"] = RUN_ID
for name, path in _OWNED.items():
    os.environ.setdefault(name, str(path))


def pytest_unconfigure(config):
    for path in _OWNED.values():
        shutil.rmtree(path, ignore_errors=True)
