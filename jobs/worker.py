"""Starting and stopping a real Celery worker process (the demo and the integration tests both use it)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

QUEUES = ("default", "gpu")


def start_worker(
    log_path: Path,
    env: dict | None = None,
    queues=QUEUES,
    ready_timeout: float = 0,
    *,
    beat: bool = False,
    concurrency: int = 1,
    name: str = "",
) -> subprocess.Popen:
    """`celery worker` on ``queues``, logging to ``log_path``, in its own process group (so one signal
    reaches the worker and its pool). ``beat`` embeds Celery beat (-B), which runs the reaper.

    With ``ready_timeout`` > 0, wait until the worker says it is ready (raising with its log if not)."""
    env = env or os.environ.copy()
    prefix = env.get("JOBS_QUEUE_PREFIX", "")  # the worker's settings read the same variable
    names = ",".join(prefix + q for q in queues)
    cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", names, "-c", str(concurrency)]
    cmd += ["--without-mingle", "--without-gossip", "-l", "INFO"]
    if name:
        cmd += ["-n", name]
    if beat:
        cmd += ["-B"]
    # Popen hands the child its own copy of the descriptor, so ours can be closed at once.
    with open(log_path, "ab") as log:
        worker = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    worker.log_path = log_path
    deadline = time.monotonic() + ready_timeout
    while ready_timeout and b"ready." not in Path(log_path).read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            stop_worker(worker)
            raise RuntimeError(f"celery worker did not start:\n{Path(log_path).read_text()[-3000:]}")
        time.sleep(0.2)
    return worker


def stop_worker(worker: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """SIGTERM (warm: the running task finishes its step) or SIGQUIT (cold), then SIGKILL after ``timeout``."""
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        try:
            worker.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
