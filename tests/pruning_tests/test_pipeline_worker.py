"""Done-when of issue 3: a tiny experiment (synthetic data, tiny net, 2 seeds, 20 sparsities) runs end to end
through a REAL Celery worker process: experiment -> train x2 -> sweep x2 -> PIE selection (-> report)."""

import math
import time

import pytest

from tests.conftest import wait_for_job

pytest_plugins = ["tests.pruning_tests.django_support"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_tiny_experiment_runs_end_to_end_through_the_real_worker(
    celery_worker, synthetic_dataset, tiny_fields, admin_user
):
    from jobs.models import Job
    from pruning.engine.spec import load_splits
    from pruning.engine.store import PredictionSet
    from pruning.models import PIESelection
    from pruning.services_experiments import experiment_create

    start = time.monotonic()
    experiment = experiment_create(user=admin_user, **tiny_fields(synthetic_dataset))
    parent = wait_for_job(experiment.job_id, timeout=90)
    elapsed = time.monotonic() - start
    assert parent.status == Job.Status.SUCCEEDED, parent.error or celery_worker.log_path.read_text()[-3000:]
    assert elapsed < 60, f"the tiny pipeline took {elapsed:.1f} s"

    children = {(j.kind, j.status) for j in parent.children.all()}
    counts = {kind: parent.children.filter(kind=kind).count() for kind in ("train", "sweep", "select_pies")}
    assert counts == {"train": 2, "sweep": 2, "select_pies": 1}
    assert all(status == Job.Status.SUCCEEDED for _, status in children)
    assert parent.progress_total in (5, 6) and parent.progress_done == parent.progress_total  # 6 with a report
    for job in parent.children.filter(kind="train"):
        assert (job.progress_done, job.progress_total) == (1, 1) and job.result["best_epoch"] == 1
    for job in parent.children.filter(kind="sweep"):
        assert (job.progress_done, job.progress_total) == (20, 20)

    n_test, n_classes = synthetic_dataset.n_test, len(synthetic_dataset.class_names)
    test_ids = load_splits(synthetic_dataset.spec)["test"].ids
    for run in experiment.runs.all():
        ps = PredictionSet.load(run.sweep.store_path)
        assert ps.probs.shape == (20, n_test, n_classes)
        assert ps.done.all() and ps.image_ids == test_ids
    selection = PIESelection.objects.get(experiment=experiment)
    assert (selection.n_images, selection.n_nan) == (n_test, 0)
    assert selection.n_pies == math.floor(0.05 * n_test) == 2
    table = selection.table_file.read_text().splitlines()
    assert table[0].startswith("image_index,image_id,correlation,rank,is_pie")
    assert len(table) == n_test + 1
    assert sum(line.split(",")[4] == "True" for line in table[1:]) == selection.n_pies
