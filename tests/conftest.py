"""Shared fixtures: one user per role, and logged-in clients for each."""

import contextlib

import pytest
from django.contrib.auth.models import Group

from config.roles import READERS, RESEARCHERS

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2 costs ~0.6 s per user on 2 cores; tests create many users and do not test hashing strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def jobs_unattended_unless_a_worker_is_asked_for(request, settings):
    """Jobs a test commits go to queues no worker listens on, unless the test asks for a worker.

    Otherwise the session's Celery worker (started by an earlier test) picks up the job and runs it while the
    transactional test's teardown flushes the tables: TRUNCATE and the worker's transaction then deadlock,
    and the flush fails (seen in CI on the concurrent PIE-selection test)."""
    if not {"celery_worker", "fault_workers"} & set(request.fixturenames):
        settings.JOBS_QUEUE_PREFIX = "unattended-"


@pytest.fixture(autouse=True)
def no_heartbeat_inside_a_test_transaction(request, settings):
    """A job run inline under the `db` fixture lives in the test's open transaction, which the heartbeat
    thread's own database connection cannot see: its first beat finds no running row and fences the attempt
    off as superseded. Seen on PostgreSQL on a loaded machine, where a statistics job ran past the 20 s beat.
    Tests inside a transaction get no beat while they run; transactional tests keep the real one."""
    marker = request.node.get_closest_marker("django_db")
    transactional = {"transactional_db", "live_server"} & set(request.fixturenames) or (
        marker is not None and marker.kwargs.get("transaction", False)
    )
    if not transactional:
        settings.JOBS_HEARTBEAT_SECONDS = 3600


def _user(django_user_model, username: str, group: str | None = None, admin: bool = False):
    user = django_user_model.objects.create_user(username=username, password=PASSWORD)
    if admin:
        user.is_staff = user.is_superuser = True
        user.save()
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def admin_user(django_user_model):
    return _user(django_user_model, "admin1", admin=True)


@pytest.fixture
def researcher(django_user_model):
    return _user(django_user_model, "researcher1", RESEARCHERS)


@pytest.fixture
def reader_a(django_user_model):
    return _user(django_user_model, "reader_a", READERS)


@pytest.fixture
def reader_b(django_user_model):
    return _user(django_user_model, "reader_b", READERS)


def _client_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client_(admin_user):
    return _client_for(admin_user)


@pytest.fixture
def researcher_client(researcher):
    return _client_for(researcher)


@pytest.fixture
def reader_a_client(reader_a):
    return _client_for(reader_a)


@pytest.fixture
def reader_b_client(reader_b):
    return _client_for(reader_b)


# --- A real Celery worker process ---------------------------------------------------------------


def _test_database_url() -> str:
    """The URL of the database pytest-django created, so a worker process writes where the test reads."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _purge_queues(queues: tuple[str, ...]) -> None:
    """Drop messages left by earlier runs: they name job ids that mean something else in this database."""
    from config.celery import app

    with app.connection_for_write() as conn:
        for name in queues:
            # A queue that was never declared has nothing to purge.
            with contextlib.suppress(Exception):
                conn.default_channel.queue_purge(name)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery worker` process on both queues against the test database and broker; stopped by PID."""
    import os
    import signal

    from jobs.worker import QUEUES, start_worker, stop_worker

    with django_db_blocker.unblock():
        env = {**os.environ, "DATABASE_URL": _test_database_url()}
        _purge_queues(QUEUES)
    worker = start_worker(tmp_path_factory.mktemp("worker") / "worker.log", env=env, ready_timeout=60)
    yield worker
    stop_worker(worker, sig=signal.SIGQUIT, timeout=15)  # cold shutdown: the tests are over, nothing to finish


def wait_for_job(job_id: int, timeout: float = 60.0, statuses=("succeeded", "failed", "cancelled")):
    """Poll the database until the job reaches one of `statuses`; returns the job."""
    import time

    from jobs.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {Job.objects.get(pk=job_id).status} after {timeout}s")


@pytest.fixture
def unreachable_broker():
    """Point the Celery app at a port where nothing listens, then restore it (with a fresh connection pool)."""
    with broker_switched_off():
        yield


# --- Fault tests: workers of their own, fast heartbeats ------------------------------------------------

# Heartbeat every 0.2 s; a job silent for 2.5 s is lost; a queued job in no queue for 1 s is re-sent.
FAST_JOBS = {
    "JOBS_HEARTBEAT_SECONDS": 0.2,
    "JOBS_STALE_AFTER_SECONDS": 2.5,
    "JOBS_LOST_AFTER_SECONDS": 1.0,
    "JOBS_REAP_SECONDS": 0.5,
    "JOBS_QUEUE_PREFIX": "faults-",  # queues no other test's worker listens on
}


class FaultWorkers:
    """Starts real `celery worker` processes on the fault tests' own queues, kills them by PID, and stops
    whatever is left at the end of the test."""

    def __init__(self, folder):
        self.folder = folder
        self.started = []

    def start(self, name: str, *, beat: bool = False, concurrency: int = 1):
        import os

        from jobs.worker import start_worker

        env = {**os.environ, "DATABASE_URL": _test_database_url(), **{k: str(v) for k, v in FAST_JOBS.items()}}
        log = self.folder / f"{name}.log"
        worker = start_worker(log, env=env, ready_timeout=60, beat=beat, concurrency=concurrency, name=f"{name}@%h")
        self.started.append(worker)
        return worker

    @staticmethod
    def signal(worker, sig) -> None:
        """Send ``sig`` to the worker and its pool (one process group)."""
        import os
        import signal

        os.killpg(worker.pid, sig)
        if sig == signal.SIGKILL:
            worker.wait(timeout=10)

    def stop_all(self) -> None:
        import contextlib
        import os
        import signal

        from jobs.worker import stop_worker

        for worker in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGCONT)  # a stopped worker cannot handle SIGQUIT
            stop_worker(worker, sig=signal.SIGQUIT, timeout=10)


@pytest.fixture
def fault_workers(settings, tmp_path):
    """Fast heartbeat/stale/reap settings in this process too, and a FaultWorkers to start workers with."""
    for name, value in FAST_JOBS.items():
        setattr(settings, name, value)
    workers = FaultWorkers(tmp_path)
    yield workers
    workers.stop_all()


def wait_until(condition, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``condition()`` until it returns something truthy (returned), or fail after ``timeout`` s."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not reached after {timeout} s")


@contextlib.contextmanager
def broker_switched_off():
    """The Celery app of this process points at a port where nothing listens, until the block ends."""
    from config.celery import app

    keys = ("broker_url", "broker_write_url", "broker_read_url")
    old = {key: app.conf[key] for key in keys}

    def switch(values: dict) -> None:
        app.conf.update(values)
        app._pool = None  # connection and producer pools are cached per URL; drop them
        app.amqp._producer_pool = None

    switch(dict.fromkeys(keys, "redis://127.0.0.1:1/0"))
    try:
        yield
    finally:
        switch(old)
