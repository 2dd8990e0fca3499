"""Job lifecycle: create -> claim -> progress -> finish, with every transition a conditional UPDATE."""

from datetime import timedelta

import pytest
from django.utils import timezone

from common.progress import Cancelled
from jobs import execution, services
from jobs.errors import Superseded
from jobs.kinds import UnknownJobKind
from jobs.models import Job, stale_after

pytestmark = pytest.mark.django_db


def test_job_create_rejects_unknown_kind_with_the_known_ones():
    with pytest.raises(UnknownJobKind, match="Unknown job kind 'bogus'.*selfcheck"):
        services.job_create(kind="bogus")
    assert not Job.objects.exists()


def test_claiming_twice_runs_a_job_once():
    job = Job.objects.create(kind="selfcheck")
    attempt = services.job_claim(job_id=job.pk)
    assert attempt is not None and attempt.number == 1
    assert services.job_claim(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.attempts == 1 and job.attempt_token == attempt.token


def test_a_running_job_with_a_stale_heartbeat_can_be_claimed_again():
    job = Job.objects.create(
        kind="selfcheck",
        status=Job.Status.RUNNING,
        heartbeat_at=timezone.now() - stale_after() - timedelta(seconds=1),
    )
    assert services.job_claim(job_id=job.pk) is not None
    job.refresh_from_db()
    assert job.attempts == 1


def test_progress_is_recorded_and_cancel_stops_the_next_report():
    job = Job.objects.create(kind="selfcheck")
    attempt = services.job_claim(job_id=job.pk)
    services.job_report_progress(attempt=attempt, done=2, total=5, message="epoch 2")
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total, job.progress_message, job.percent) == (2, 5, "epoch 2", 40)
    assert services.job_cancel(job_id=job.pk) is True
    with pytest.raises(Cancelled) as stopped:
        services.job_report_progress(attempt=attempt, done=3, total=5)
    assert not isinstance(stopped.value, Superseded), "a cancel says cancelled"
    assert services.job_succeed(attempt=attempt) is False, "a cancelled job never turns into a success"
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED


def test_finished_jobs_cannot_be_cancelled_but_failed_ones_can_be_requeued():
    job = Job.objects.create(kind="selfcheck")
    services.job_fail(attempt=services.job_claim(job_id=job.pk), error="boom")
    assert services.job_cancel(job_id=job.pk) is False
    assert services.job_requeue(job_id=job.pk) is True
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.error == ""
    services.job_succeed(attempt=services.job_claim(job_id=job.pk), result={"ok": 1})
    assert services.job_requeue(job_id=job.pk) is False


def test_job_run_records_success_and_is_idempotent_when_called_twice():
    job = Job.objects.create(kind="selfcheck")
    assert execution.job_run(job_id=job.pk) == Job.Status.SUCCEEDED
    assert execution.job_run(job_id=job.pk) == Job.Status.SUCCEEDED  # second delivery: not claimed, not rerun
    job.refresh_from_db()
    assert job.attempts == 1
    assert job.result["torch"].startswith("2.14.1")
    assert job.result["device"] in {"cpu", "cuda"}


def test_job_run_records_a_runner_exception_as_failure(monkeypatch):
    from jobs import kinds

    monkeypatch.setitem(kinds.JOB_KINDS, "broken", kinds.JobKind("broken", "Broken", "default", explode))
    job = Job.objects.create(kind="broken")
    assert execution.job_run(job_id=job.pk) == Job.Status.FAILED
    job.refresh_from_db()
    assert job.error.startswith("RuntimeError: the runner blew up")


def explode(job, progress):
    raise RuntimeError("the runner blew up")


@pytest.mark.django_db(transaction=True)
def test_unreachable_broker_is_recorded_on_the_job_not_raised(unreachable_broker):
    job = services.job_create(kind="selfcheck")
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert job.enqueue_error.startswith("Waiting for the broker: unreachable at")


def test_every_write_of_an_old_attempt_is_fenced_once_a_retry_took_over():
    job = Job.objects.create(kind="selfcheck")
    old = services.job_claim(job_id=job.pk)
    services.job_cancel(job_id=job.pk)
    services.job_requeue(job_id=job.pk)
    new = services.job_claim(job_id=job.pk)
    assert new.token != old.token and new.number == 2
    with pytest.raises(Superseded, match="attempt 1 was superseded by a newer attempt"):
        services.job_report_progress(attempt=old, done=1, total=2)
    assert services.job_heartbeat(attempt=old) is False
    with pytest.raises(Superseded), services.job_fence(attempt=old):
        pass
    assert services.job_succeed(attempt=old, result={"by": "old"}) is False
    assert services.job_fail(attempt=old, error="old") is False
    services.job_report_progress(attempt=new, done=2, total=2)
    assert services.job_succeed(attempt=new, result={"by": "new"}) is True
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result == {"by": "new"} and job.error == ""


def test_a_stale_running_job_taken_over_supersedes_the_old_attempt():
    job = Job.objects.create(kind="selfcheck")
    old = services.job_claim(job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - stale_after() - timedelta(seconds=1))
    new = services.job_claim(job_id=job.pk)
    assert new is not None and new.number == 2
    outcomes = list(job.attempt_log.values_list("number", "outcome"))
    assert outcomes == [(1, "superseded"), (2, "running")]
    with pytest.raises(Superseded):
        services.job_report_progress(attempt=old, done=1, total=1)
