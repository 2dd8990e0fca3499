"""Fixtures for the pruning app's Django tests (loaded with ``pytest_plugins`` by test_django_* and
test_pipeline*): a tiny synthetic CXR-LT rendered once per session, and the settings of a tiny
experiment that trains in seconds on a 2-core CPU."""

import pytest

# 200 images at 32 px: 140 train / 20 val / 40 test, so floor(0.05 * 40) = 2 PIEs.
N_IMAGES, SIZE = 200, 32


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    from pruning.engine.synthetic import make_synthetic

    root = tmp_path_factory.mktemp("synthetic")
    make_synthetic(root, N_IMAGES, SIZE, seed=0, workers=1)
    return root


@pytest.fixture
def synthetic_dataset(synthetic_root, db):
    from pruning.services_datasets import dataset_register

    return dataset_register(name="syn", spec={"kind": "synthetic", "root": str(synthetic_root)})


@pytest.fixture
def tiny_fields():
    """A function giving experiment_create keywords of a tiny experiment: 2 seeds, 1 epoch, 20 sparsities."""
    return _tiny_fields


def _tiny_fields(dataset, **overrides) -> dict:
    from pruning import params

    fields = {
        "dataset": dataset,
        "name": "tiny",
        "arch": "tiny",
        "init": "random",
        "seeds": [0, 1],
        "epochs": 1,
        "batch_size": 32,
        "lr": 1e-3,
        "patience": 3,
        "image_size": SIZE,
        "prune_method": "l1",
        "sparsities": list(params.DEFAULT_SPARSITIES),
        "pie_sparsity": 0.9,
        "pie_q": 0.05,
        "pie_definition": "spearman",
    }
    return {**fields, **overrides}


@pytest.fixture
def no_analysis(monkeypatch):
    """Run the pipeline without the follow-ups other apps register (the analysis app's report job has
    its own tests)."""
    from pruning import hooks

    monkeypatch.setattr(hooks, "FOLLOW_UPS", {})
