"""The management commands: the whole pipeline from the shell (`experiment --here`), every step run
again as a no-op, PIEs re-selected, synthetic data and the paper's prediction layout imported."""

import math

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from pruning.models import Experiment, Job, PIESelection

pytest_plugins = ["tests.pruning_tests.django_support"]
pytestmark = pytest.mark.django_db
SIZE = 32  # the synthetic fixture's image size


def _stub_report(calls):
    """A stand-in for analysis.services.report_create_for_experiment: an analysis job with a stub runner."""

    def report_create_for_experiment(*, experiment, user):
        from pruning.services import job_create

        calls.append(experiment.pk)
        return job_create(kind="analysis", params={"experiment_id": experiment.pk}, user=user)

    return report_create_for_experiment


def report_stub_runner(job, progress):
    progress(1, 1, "report written")
    return {"report": "ok"}


def test_experiment_command_runs_the_whole_pipeline_here_and_every_step_again_is_a_no_op(
    synthetic_dataset, monkeypatch, capsys
):
    from pruning import jobkinds, services_experiments
    from pruning.engine.store import PredictionSet

    calls = []
    monkeypatch.setattr(services_experiments, "_analysis_hook", lambda: _stub_report(calls))
    monkeypatch.setitem(jobkinds.JOB_KINDS, "analysis", jobkinds.JobKind(
        "analysis", "Report", "default", "tests.pruning_tests.test_django_commands:report_stub_runner"))

    call_command("experiment", "--dataset", "syn", "--arch", "tiny", "--seeds", "0,1", "--epochs", "1",
                 "--batch-size", "32", "--lr", "1e-3", "--image-size", str(SIZE), "--here")
    experiment = Experiment.objects.get()
    parent = experiment.job
    parent.refresh_from_db()
    assert parent.status == Job.Status.SUCCEEDED, parent.error
    kinds = sorted(parent.children.values_list("kind", "status"))
    assert kinds == [("analysis", "succeeded"), ("select_pies", "succeeded"), ("sweep", "succeeded"),
                     ("sweep", "succeeded"), ("train", "succeeded"), ("train", "succeeded")]
    assert (parent.progress_done, parent.progress_total) == (6, 6)
    assert calls == [experiment.pk]

    n_test, n_classes = experiment.dataset.n_test, len(experiment.dataset.class_names)
    for run in experiment.runs.all():
        ps = PredictionSet.load(run.sweep.store_path)
        assert ps.probs.shape == (20, n_test, n_classes) and ps.done.all()
        assert run.best_epoch == 1 and run.sweep.n_done == 20
        assert run.sweep.achieved_sparsity["0.5"] == pytest.approx(0.5, abs=1e-3)
    selection = PIESelection.objects.get()
    assert selection.n_pies == math.floor(0.05 * n_test) == 2
    assert selection.table_file.is_file()

    # Every step again: nothing is recomputed, no file is rewritten.
    files = [p for run in experiment.runs.all() for p in (run.out_dir / "best.pt", run.out_dir / "last.pt",
                                                        run.sweep.store_path)] + [selection.table_file]
    mtimes = [p.stat().st_mtime_ns for p in files]
    capsys.readouterr()
    call_command("train", "--experiment", str(experiment.pk), "--seed", "1")
    call_command("sweep", "--experiment", str(experiment.pk))
    call_command("select_pies", "--experiment", str(experiment.pk))
    out = capsys.readouterr().out
    assert "already trained" in out and out.count("already done") == 2
    assert [p.stat().st_mtime_ns for p in files] == mtimes
    assert PIESelection.objects.count() == 1

    call_command("select_pies", "--experiment", str(experiment.pk), "--q", "0.1")
    assert PIESelection.objects.get(q=0.1).n_pies == 4
    with pytest.raises(CommandError, match="sparsity 0.33 was not swept"):
        call_command("select_pies", "--experiment", str(experiment.pk), "--sparsity", "0.33")
