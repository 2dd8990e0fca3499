"""Cancel and retry: cancelling the experiment stops its children and keeps finished epochs; retrying the
experiment requeues them and training resumes from last.pt instead of starting over."""

import pandas as pd
import pytest

from jobs import attempts, execution, services
from jobs.models import Job

pytest_plugins = ["tests.pruning_tests.django_support"]
pytestmark = pytest.mark.django_db


def test_cancelling_the_experiment_mid_training_then_retrying_it_resumes_from_the_last_epoch(
    synthetic_dataset, tiny_fields, no_analysis, monkeypatch
):
    from jobs.cli import run_tree_here
    from pruning.services_experiments import experiment_create

    experiment = experiment_create(
        **tiny_fields(synthetic_dataset, seeds=[0, 1], epochs=3, patience=5, sparsities=[0, 0.5, 0.9])
    )
    parent = experiment.job
    monkeypatch.setattr(attempts, "PROGRESS_WRITE_INTERVAL", 0)
    report = services.job_report_progress
    messages = []

    def cancel_after_epoch_one(*, attempt, done, total, message=""):
        messages.append(message)
        if message.startswith("epoch 1:"):
            services.job_cancel(job_id=parent.pk)  # the user presses "Cancel all"
        report(attempt=attempt, done=done, total=total, message=message)

    monkeypatch.setattr(services, "job_report_progress", cancel_after_epoch_one)
    assert execution.job_run(job_id=parent.pk) == Job.Status.RUNNING
    run0 = experiment.runs.get(seed=0)
    train0, train1 = (r.job for r in experiment.runs.select_related("job").order_by("seed"))
    assert execution.job_run(job_id=train0.pk) == Job.Status.CANCELLED
    parent.refresh_from_db()
    train1.refresh_from_db()
    assert parent.status == train1.status == Job.Status.CANCELLED, "cancel reaches every child"
    assert execution.job_run(job_id=train1.pk) == Job.Status.CANCELLED, "a cancelled child never runs"
    history = pd.read_csv(run0.out_dir / "history.csv")
    assert history["epoch"].max() == 1 and (run0.out_dir / "last.pt").is_file()
    run0.refresh_from_db()
    assert not run0.is_trained

    resumed = []
    monkeypatch.setattr(services, "job_report_progress", lambda **kw: (resumed.append(kw["message"]), report(**kw)))
    assert services.job_requeue(job_id=parent.pk)
    assert run_tree_here(parent.pk, lambda line: None) == Job.Status.SUCCEEDED
    train0.refresh_from_db()
    assert train0.status == Job.Status.SUCCEEDED and train0.attempts == 2
    assert "training: resuming" in resumed, "seed 0 continued from last.pt"
    history = pd.read_csv(run0.out_dir / "history.csv")
    assert history["epoch"].tolist() == [1, 1, 2, 2, 3, 3], "epoch 1 was not trained twice"
    assert sorted(parent.children.values_list("kind", flat=True)) == ["select_pies", "sweep", "sweep", "train", "train"]


def test_a_failed_child_fails_the_experiment_with_its_reason_and_the_resume_button_recovers(
    synthetic_dataset, tiny_fields, no_analysis, monkeypatch, admin_client_
):
    from jobs.cli import run_tree_here
    from pruning import steps
    from pruning.services_experiments import experiment_create

    experiment = experiment_create(**tiny_fields(synthetic_dataset, seeds=[0], sparsities=[0, 0.9]))
    original = steps.sweep_execute
    monkeypatch.setattr(steps, "sweep_execute", lambda **kw: (_ for _ in ()).throw(OSError("disk full")))
    assert run_tree_here(experiment.job_id, lambda line: None) == Job.Status.FAILED
    parent = Job.objects.get(pk=experiment.job_id)
    assert parent.error.startswith("Stopped: sweep job #") and "OSError: disk full" in parent.error
    assert "Retry this job to resume" in parent.error

    monkeypatch.setattr(steps, "sweep_execute", original)
    response = admin_client_.post(f"/experiments/{experiment.pk}/run/")
    assert response.status_code == 302
    parent.refresh_from_db()
    assert parent.status == Job.Status.QUEUED
    assert run_tree_here(parent.pk, lambda line: None) == Job.Status.SUCCEEDED
    assert parent.children.filter(kind="train").get().attempts == 1, "the trained seed was not retrained"
