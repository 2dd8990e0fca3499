"""The management commands: the whole pipeline from the shell (`experiment --here`), every step run
again as a no-op, PIEs re-selected, synthetic data and the paper's prediction layout imported."""

import math

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from jobs.models import Job
from pruning.models import Experiment, PIESelection

pytest_plugins = ["tests.pruning_tests.django_support"]
pytestmark = pytest.mark.django_db
SIZE = 32  # the synthetic fixture's image size


def _stub_report(calls):
    """A stand-in for analysis.reports.services.report_create_for_experiment: an analysis job with a stub runner."""

    def report_create_for_experiment(*, experiment, user):
        from jobs.services import job_create

        calls.append(experiment.pk)
        return job_create(kind="analysis", params={"experiment_id": experiment.pk}, user=user)

    return report_create_for_experiment


def report_stub_runner(job, progress):
    progress(1, 1, "report written")
    return {"report": "ok"}


def test_experiment_command_runs_the_whole_pipeline_here_and_every_step_again_is_a_no_op(
    synthetic_dataset, monkeypatch, capsys, admin_user, researcher, reader_a
):
    from jobs import kinds
    from pruning import hooks
    from pruning.engine.store import PredictionSet

    admin = admin_user
    calls = []
    monkeypatch.setattr(
        hooks, "FOLLOW_UPS", {"report": hooks.ExperimentFollowUp("report", "Report", "analysis", _stub_report(calls))}
    )
    monkeypatch.setitem(kinds.JOB_KINDS, "analysis", kinds.JobKind("analysis", "Report", "default", report_stub_runner))

    call_command(
        "experiment",
        "--dataset",
        "syn",
        "--arch",
        "tiny",
        "--seeds",
        "0,1",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--lr",
        "1e-3",
        "--image-size",
        str(SIZE),
        "--here",
    )
    experiment = Experiment.objects.get()
    parent = experiment.job
    parent.refresh_from_db()
    assert parent.status == Job.Status.SUCCEEDED, parent.error
    kinds = sorted(parent.children.values_list("kind", "status"))
    assert kinds == [
        ("analysis", "succeeded"),
        ("select_pies", "succeeded"),
        ("sweep", "succeeded"),
        ("sweep", "succeeded"),
        ("train", "succeeded"),
        ("train", "succeeded"),
    ]
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
    diagnostics = selection.summary["diagnostics"]
    assert [r["left_out_seed"] for r in diagnostics["leave_one_seed_out"]] == [0, 1]
    assert {r["class"] for r in diagnostics["class_mix"]} == set(experiment.dataset.class_names)

    # Every step again: nothing is recomputed, no file is rewritten.
    files = [
        p
        for run in experiment.runs.all()
        for p in (run.out_dir / "best.pt", run.out_dir / "last.pt", run.sweep.store_path)
    ] + [selection.table_file]
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
    call_command("select_pies", "--experiment", str(experiment.pk), "--definition", "hooker")
    hooker = PIESelection.objects.get(definition="hooker")
    assert hooker.summary["definition"] == "hooker" and hooker.n_nan is None
    assert "n_classes_differ" in hooker.table_file.read_text().splitlines()[0]

    # An admin selects PIEs again from the experiment page: a select_pies job.
    from jobs.execution import job_run

    _client(admin).post(f"/experiments/{experiment.pk}/pies/", {"sparsity": 0.5, "q": 0.2, "definition": "spearman"})
    again = PIESelection.objects.get(sparsity=0.5)
    assert again.job.kind == "select_pies" and job_run(job_id=again.job_id) == Job.Status.SUCCEEDED
    again.refresh_from_db()
    assert again.n_pies == 8

    # The owner reads the results through role-checked views; readers cannot. A command records no creator,
    # and experiments are per owner now (pruning.visibility), so the researcher is made its owner.
    Experiment.objects.filter(pk=experiment.pk).update(created_by=researcher)
    client = _client(researcher)
    page = client.get(f"/experiments/{experiment.pk}/")
    assert page.status_code == 200 and b"2 PIEs of 40" in page.content
    assert f"Selection #{selection.pk}: how PIEs differ from non-PIEs".encode() in page.content
    assert b"Stability when one seed is left out" in page.content
    curves = client.get(f"/experiments/{experiment.pk}/seed-0/curves.png")
    assert curves.status_code == 200 and curves["Content-Type"] == "image/png"
    table = b"".join(client.get(f"/experiments/pies/{selection.pk}.csv").streaming_content).decode()
    assert table.splitlines()[0].startswith("image_index,image_id,correlation,rank,is_pie")
    assert _client(reader_a).get(f"/experiments/pies/{selection.pk}.csv").status_code == 403


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_make_synthetic_command_registers_and_never_renders_the_same_set_twice(synthetic_root, capsys):
    from pruning.models import Dataset

    before = {p.name: p.stat().st_mtime_ns for p in (synthetic_root / "images").iterdir()}
    call_command(
        "make_synthetic",
        "--out",
        str(synthetic_root),
        "--n",
        "200",
        "--size",
        "32",
        "--seed",
        "0",
        "--register",
        "syn-again",
    )
    assert "already rendered" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in (synthetic_root / "images").iterdir()} == before
    dataset = Dataset.objects.get(name="syn-again")
    assert (dataset.kind, dataset.n_train + dataset.n_val + dataset.n_test) == ("synthetic", 200)
    with pytest.raises(CommandError, match="at least 32 px, got 16"):
        call_command("make_synthetic", "--out", str(synthetic_root.parent / "small"), "--n", "40", "--size", "16")


def test_experiment_command_rejects_bad_settings_with_the_bad_value(synthetic_dataset):
    with pytest.raises(CommandError, match="sparsity 1.5 is outside"):
        call_command("experiment", "--dataset", "syn", "--sparsities", "0,0.9,1.5")
    with pytest.raises(CommandError, match="unknown architecture 'vgg'"):
        call_command("experiment", "--dataset", "syn", "--arch", "vgg")
    with pytest.raises(CommandError, match="no dataset named 'nope'"):
        call_command("experiment", "--dataset", "nope")
    assert not Experiment.objects.exists()


def test_paper_layout_predictions_import_as_an_experiment_pies_can_be_selected_from(synthetic_dataset, tmp_path):
    from pruning.engine.prunecxr import export_prunecxr
    from pruning.engine.spec import load_splits
    from pruning.engine.store import PredictionSet

    test = load_splits(synthetic_dataset.spec)["test"]
    rng = np.random.default_rng(0)
    sparsities = [0.0, 0.5, 0.9]
    sets = [
        PredictionSet(
            rng.random((3, len(test), len(test.class_names)), dtype=np.float32),
            sparsities,
            [str(i) for i in range(len(test))],
            test.class_names,
        )
        for _ in range(2)
    ]
    export_prunecxr(sets, "nih-cxr-lt", tmp_path, labels=test.labels, seeds=[3, 4])

    call_command(
        "import_prunecxr_preds", "--dir", str(tmp_path), "--dataset", "nih-cxr-lt", "--into", "syn", "--select-pies"
    )
    experiment = Experiment.objects.get()
    assert (experiment.source, experiment.seeds, experiment.sparsities) == ("imported", [3, 4], sparsities)
    stored = PredictionSet.load(experiment.runs.get(seed=4).sweep.store_path)
    assert stored.image_ids == list(test.ids) and np.array_equal(stored.probs, sets[1].probs)
    assert PIESelection.objects.get(experiment=experiment).n_pies == math.floor(0.05 * len(test))

    labels = test.labels.copy()
    labels[5] = 1 - labels[5]
    export_prunecxr(sets, "nih-cxr-lt", tmp_path / "other", labels=labels)
    with pytest.raises(CommandError, match=r"'label' column differs from .*labels_test.csv line 7"):
        call_command(
            "import_prunecxr_preds", "--dir", str(tmp_path / "other"), "--dataset", "nih-cxr-lt", "--into", "syn"
        )
    with pytest.raises(CommandError, match="no dataset named 'nih-cxr-lt': register it first, or pass --labels"):
        call_command("import_prunecxr_preds", "--dir", str(tmp_path), "--dataset", "nih-cxr-lt")

    # The selection feeds the reader study: every test image a candidate, PIEs flagged, hidden truth kept.
    from readerstudy import sources
    from readerstudy.builder import study_create_from_candidates

    value, label = sources.pie_selection_choices()[-1]
    assert value == str(PIESelection.objects.get(q=0.05).pk) and "2 PIEs of 40" in label
    candidates, origin = sources.candidates_from_pie_selection(value)
    assert len(candidates) == 40 and sum(c.is_pie for c in candidates) == 2
    assert all(c.image_path.is_file() for c in candidates) and "quality" in candidates[0].hidden_truth
    assert origin["selection_id"] == int(value) and origin["dataset"] == "syn"
    study = study_create_from_candidates(
        title="PIEs", candidates=candidates, n_forms=1, cases_per_form=4, pie_fraction=0.5, source=origin
    )
    assert study.pk


def test_a_synthetic_job_attempt_that_lost_its_job_registers_no_dataset(synthetic_root):
    """The make_synthetic runner's dataset row is written under the attempt's fence, like every other runner's
    rows: an attempt superseded by a retry (here with the set already rendered, so no progress call would stop
    it first) raises Superseded and registers nothing; the current attempt registers the dataset."""
    from jobs import services
    from jobs.attempts import AttemptProgress
    from jobs.errors import Superseded
    from pruning.models import Dataset
    from pruning.runners import run_make_synthetic

    params = {"name": "fenced", "n": 200, "size": SIZE, "seed": 0, "out_dir": str(synthetic_root)}
    job = Job.objects.create(kind="make_synthetic", params=params)
    old = services.job_claim(job_id=job.pk)
    services.job_cancel(job_id=job.pk)
    services.job_requeue(job_id=job.pk)
    new = services.job_claim(job_id=job.pk)
    with pytest.raises(Superseded):
        run_make_synthetic(job, AttemptProgress(old))
    assert not Dataset.objects.filter(name="fenced").exists()
    result = run_make_synthetic(job, AttemptProgress(new))
    assert result["rendered"] is False and Dataset.objects.filter(name="fenced").exists()
