"""What /jobs/ and `manage.py jobs_status` say about queues, workers and waiting jobs, and how the reaper
tells a queued job whose message waits in the broker from one whose message is lost."""

import contextlib
import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from jobs import reaper, services
from jobs.broker import job_ids_in_broker, queue_lengths
from jobs.kinds import queue_name
from jobs.models import Job, WorkerPresence
from tests.conftest import FAST_JOBS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_queues(settings):
    """Queues no worker listens on, emptied before and after (nothing takes our messages)."""
    for name, value in FAST_JOBS.items():
        setattr(settings, name, value)
    settings.JOBS_QUEUE_PREFIX = "observe-"
    _purge()
    yield
    _purge()


def _purge():
    from config.celery import app

    with app.connection_for_write() as conn:
        for q in ("default", "gpu"):
            with contextlib.suppress(Exception):  # never declared: nothing to purge
                conn.default_channel.queue_purge(queue_name(q))


def test_the_reaper_leaves_a_message_that_waits_and_re_sends_one_that_was_lost(own_queues):
    job = services.job_create(kind="selfcheck")  # published on observe-gpu, where no worker listens
    assert job_ids_in_broker([queue_name("gpu")]) == {job.pk}
    assert queue_lengths([queue_name("gpu")]) == {queue_name("gpu"): 1}
    Job.objects.filter(pk=job.pk).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    assert reaper.reap()["queued"] == [], "its message still waits in the queue"

    _purge()  # the message is lost (a filesystem broker's worker took it and died before claiming it)
    assert reaper.reap()["queued"] == [job.pk]
    assert reaper.reap()["queued"] == [], "re-sent once: the new message waits now"
    assert job_ids_in_broker([queue_name("gpu")]) == {job.pk}


def test_jobs_page_and_command_show_workers_queue_lengths_why_jobs_wait_and_an_eta(own_queues, admin_client_, settings):
    settings.JOBS_STALE_AFTER_SECONDS = 60  # a worker seen in the last minute is online
    now = timezone.now()
    WorkerPresence.objects.create(name="cpu-1@box", queues=["default"], last_seen=now - timedelta(seconds=1))
    WorkerPresence.objects.create(name="old-gpu@box", queues=["gpu"], last_seen=now - timedelta(minutes=10))
    first = services.job_create(kind="select_pies", params={"selection_id": 0})
    second = services.job_create(kind="select_pies", params={"selection_id": 0})
    gpu = services.job_create(kind="train", params={"training_run_id": 0})
    running = Job.objects.create(
        kind="sweep", status=Job.Status.RUNNING, started_at=now - timedelta(seconds=30), heartbeat_at=now,
        progress_done=1, progress_total=4,
    )  # fmt: skip

    # (an admin: pruning jobs are per owner, and these belong to no experiment; see pruning.visibility)
    html = admin_client_.get("/jobs/").content.decode()
    assert re.search(r"cpu-1@box · online, seen \d s ago", html)
    assert re.search(r'old-gpu@box · <span class="muted">offline, last seen 60\d s ago', html)
    assert "position 1 in the default queue" in html and "position 2 in the default queue" in html
    assert "no worker listening on gpu" in html
    assert re.search(r"about 9\d s left", html), "30 s for 1 of 4 steps: about 90 s for the other 3"
    status = admin_client_.get(f"/jobs/status.json?ids={second.pk},{gpu.pk}").json()["jobs"]
    assert {j["id"]: j["where"] for j in status} == {
        second.pk: "position 2 in the default queue",
        gpu.pk: "no worker listening on gpu",
    }

    out = io.StringIO()
    call_command("jobs_status", stdout=out)
    text = out.getvalue()
    assert "Queue default: 1 worker(s) online, 2 message(s) waiting, 2 job(s) queued, 0 running" in text
    assert "Queue gpu: 0 worker(s) online, 1 message(s) waiting, 1 job(s) queued, 1 running" in text
    assert re.search(r"worker old-gpu@box: offline, last seen 60\d s ago", text)
    assert f"#{first.pk} PIE selection [queued] 0/0 — position 1 in the default queue" in text
    assert f"#{running.pk} Pruning sweep of one seed [running] 1/4" in text and "left" in text


def test_a_job_waiting_for_the_broker_says_so(own_queues, researcher_client, unreachable_broker):
    job = services.job_create(kind="selfcheck")
    payload = researcher_client.get(f"/jobs/status.json?ids={job.pk}").json()["jobs"][0]
    assert payload["where"].startswith("waiting for the broker")
    assert "Waiting for the broker: unreachable at" in researcher_client.get(f"/jobs/{job.pk}/").content.decode()
