"""Compression methods in the app: an experiment sweeps more methods on the same trained seeds, one
MethodSweep per seed and method, costs stored, one row per method on the page; forms validate levels."""

import numpy as np
import pytest

from jobs.models import Job
from pruning import params
from pruning.forms import ExperimentForm

pytest_plugins = ["tests.pruning_tests.django_support"]
pytestmark = pytest.mark.django_db


def test_an_experiment_with_a_compared_method_runs_its_sweeps_and_shows_a_row_per_method(
    synthetic_dataset, tiny_fields, no_analysis, admin_client_, monkeypatch
):
    from jobs.cli import run_tree_here
    from pruning.engine.store import PredictionSet, read_sidecar
    from pruning.models import MethodSweep
    from pruning.services_experiments import experiment_create
    from pruning.steps_methods import method_sweep_execute

    monkeypatch.setenv("COMPRESS_COST_REPEATS", "1")
    fields = tiny_fields(synthetic_dataset, sparsities=[0, 0.5, 0.9], compare_methods=[{"method": "int8_static"}])
    experiment = experiment_create(**fields)
    assert experiment.compare_methods == [{"method": "int8_static", "levels": [0.0, 0.75]}]
    assert run_tree_here(experiment.job.pk, lambda line: None) == Job.Status.SUCCEEDED
    kinds = sorted(experiment.job.children.values_list("kind", flat=True))
    assert kinds == ["method_sweep", "method_sweep", "select_pies", "select_pies", "sweep", "sweep", "train", "train"]

    sweeps = list(MethodSweep.objects.filter(training_run__experiment=experiment).order_by("training_run__seed"))
    assert [s.is_done for s in sweeps] == [True, True]
    first, second = sweeps
    ps = PredictionSet.load(first.store_path)
    primary = PredictionSet.load(first.training_run.sweep.store_path)
    assert ps.sparsities.tolist() == [0.0, 0.75] and np.array_equal(ps.probs[0], primary.probs[0])
    assert read_sidecar(first.store_path)["method"] == "int8_static"
    # Costs on the first seed only (they do not depend on the seed). The tiny net's int8 file is smaller,
    # not 4x (per-channel scales weigh on 1.5k weights; the 4x is tested on the small net).
    assert first.costs["0.75"]["file_bytes"] < first.costs["0.0"]["file_bytes"] and not second.costs
    assert "costs" in read_sidecar(first.training_run.sweep.store_path)

    again = method_sweep_execute(sweep=first)  # idempotent: a finished sweep does nothing
    assert again["skipped"] is True

    page = admin_client_.get(f"/experiments/{experiment.pk}/").content.decode()
    assert 'data-method="l1"' in page and 'data-method="int8_static"' in page
    assert "Seed 1 · sweep int8_static" in page


def test_the_experiment_form_fills_the_methods_default_levels_and_pie_level(synthetic_dataset):
    data = {
        "dataset": synthetic_dataset.pk, "name": "q", "arch": "tiny", "seeds": "0", "epochs": 1, "image_size": 32,
        "init": "random", "batch_size": 8, "lr": 1e-3, "patience": 1, "prune_method": "int8_static",
        "sparsities": "", "pie_sparsity": "", "pie_q": 0.05, "pie_definition": "spearman",
        "compare_methods": "l1: 0, 0.5, 0.9; nm",
    }  # fmt: skip
    form = ExperimentForm(data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["sparsities"] == [0.0, 0.75] and form.cleaned_data["pie_sparsity"] == 0.75
    assert form.cleaned_data["compare_methods"] == [
        {"method": "l1", "levels": [0.0, 0.5, 0.9]},
        {"method": "nm", "levels": [0.0, 0.5]},
    ]


@pytest.mark.parametrize(
    ("method", "levels", "compare", "field", "message"),
    [
        ("int8_static", "0, 0.5", "", "sparsities", "int8_static: level 0.5 is not one of its levels (0, 0.75;"),
        ("l1", "0, 0.5, 0.9", "structured: 0.1, 0.5", "compare_methods", "structured: levels must include 0"),
        ("l1", "0, 0.5, 0.9", "structured: 0, 0.2", "compare_methods", "must include 0.5 (its heavy level"),
        ("l1", "0, 0.5, 0.9", "l1", "compare_methods", "method 'l1' is already swept by this experiment"),
        ("l1", "0, 0.5, 0.9", "zip", "compare_methods", "unknown compression method 'zip'"),
    ],
)
def test_the_experiment_form_names_the_method_and_level_that_is_wrong(
    synthetic_dataset, method, levels, compare, field, message
):
    data = {
        "dataset": synthetic_dataset.pk, "name": "q", "arch": "tiny", "seeds": "0", "epochs": 1, "image_size": 32,
        "init": "random", "batch_size": 8, "lr": 1e-3, "patience": 1, "prune_method": method,
        "sparsities": levels, "pie_sparsity": "", "pie_q": 0.05, "pie_definition": "spearman",
        "compare_methods": compare,
    }  # fmt: skip
    form = ExperimentForm(data)
    assert not form.is_valid()
    assert any(message in e for e in form.errors[field]), form.errors


def test_parse_compare_gives_each_method_its_default_levels():
    assert params.parse_compare("int8_dynamic;fp16") == [
        {"method": "int8_dynamic", "levels": [0.0, 0.75]},
        {"method": "fp16", "levels": [0.0, 0.5]},
    ]
