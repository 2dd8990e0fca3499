"""Faults the job system must survive, against real `celery worker` processes killed or frozen by PID
(fault tests 3-5 of issue 9; 1 and 2, a killed sweep and a killed training, are in
tests/pruning_tests/test_worker_faults.py). Heartbeats every 0.2 s and a 2.5 s staleness keep them short.

The self-check job's ``hold_seconds`` keeps a worker busy without progress calls, like one long epoch."""

import signal
import threading
import time

import pytest
from django.db import connections

from jobs import reaper, services
from jobs.models import Job, WorkerPresence
from tests.conftest import FAST_JOBS, broker_switched_off, wait_for_job, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def attempt_log(job_id: int) -> list[tuple[int, str]]:
    return list(Job.objects.get(pk=job_id).attempt_log.values_list("number", "outcome"))


def test_cancel_and_retry_while_running_fences_the_old_attempt_and_one_result_is_written(fault_workers):
    first = fault_workers.start("first")
    job = services.job_create(kind="selfcheck", params={"hold_seconds": 1.0})
    wait_until(lambda: attempt_log(job.pk) == [(1, "running")], what="attempt 1 running")
    fault_workers.signal(first, signal.SIGSTOP)  # attempt 1 is frozen mid-run, its heartbeat too

    assert services.job_cancel(job_id=job.pk) and services.job_requeue(job_id=job.pk)
    fault_workers.start("second")
    job = wait_for_job(job.pk, timeout=60)
    assert job.status == Job.Status.SUCCEEDED and job.result["attempt"] == 2
    second = WorkerPresence.objects.get(name__startswith="second@")
    assert second.queues == ["default", "gpu"], "workers say which (logical) queues they listen on"

    fault_workers.signal(first, signal.SIGCONT)  # attempt 1 wakes up and makes its next progress call
    # Attempt 1 records its own end once it hears "superseded" at that call.
    first_attempt = job.attempt_log.filter(number=1, detail__contains="attempt 1 was superseded by a newer attempt")
    wait_until(first_attempt.exists, what="attempt 1 hearing it was superseded")
    assert attempt_log(job.pk) == [(1, "superseded"), (2, "succeeded")], "exactly one attempt wrote a result"
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result["attempt"] == 2 and job.error == ""


def test_a_silent_but_live_worker_is_not_reaped_and_a_dead_one_is_re_sent_exactly_once(fault_workers):
    first = fault_workers.start("first")
    job = services.job_create(kind="selfcheck", params={"hold_seconds": 3 * FAST_JOBS["JOBS_STALE_AFTER_SECONDS"]})
    # progress 2/3 is the last progress call before the hold: from here on only the heartbeat thread writes.
    wait_until(lambda: Job.objects.filter(pk=job.pk, progress_done=2).exists(), what="the hold")
    silent_since = time.monotonic()
    while time.monotonic() - silent_since < 2 * FAST_JOBS["JOBS_STALE_AFTER_SECONDS"]:
        assert reaper.reap() == {"running": [], "queued": [], "parents": []}
        time.sleep(0.2)
    assert Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, progress_done=2, attempts=1).exists()

    fault_workers.signal(first, signal.SIGKILL)  # the worker is really gone now
    time.sleep(FAST_JOBS["JOBS_STALE_AFTER_SECONDS"] + 0.3)
    # Four reapers at once, as on four machines: exactly one re-sends the job.
    results, barrier = [], threading.Barrier(4)

    def reap_on_another_machine():
        barrier.wait()
        try:
            results.append(reaper.reap())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reap_on_another_machine) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(pk for r in results for pk in r["running"]) == [job.pk]

    fault_workers.start("second")
    job = wait_for_job(job.pk, timeout=60)
    assert job.status == Job.Status.SUCCEEDED and job.attempts == 2 and job.result["attempt"] == 2
    assert attempt_log(job.pk) == [(1, "lost"), (2, "succeeded")]


def test_a_job_started_while_the_broker_is_down_runs_once_it_is_back_with_no_human_action(
    fault_workers, admin_client_, reader_a_client
):
    with broker_switched_off():
        started = time.monotonic()
        response = admin_client_.post("/jobs/start/", {"kind": "selfcheck"})
        assert response.status_code == 302 and time.monotonic() - started < 10, "the web does not hang"
        job = Job.objects.get()
        assert job.status == Job.Status.QUEUED and job.enqueue_error.startswith("Waiting for the broker")
        assert "waiting for the broker" in admin_client_.get(f"/jobs/{job.pk}/").content.decode()
        assert reader_a_client.get("/study/").status_code == 200, "readers are served meanwhile"

    # The broker is back. Nobody retries: the worker's embedded beat runs the reaper, which publishes the job.
    fault_workers.start("with-beat", beat=True)
    job = wait_for_job(job.pk, timeout=60)
    assert job.status == Job.Status.SUCCEEDED and job.enqueue_error == "" and job.attempts == 1
