"""Models, constraints and parameter parsing of the pruning app's datasets and experiments."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from pruning import params
from pruning.engine.errors import DatasetError
from pruning.engine.spec import hidden_truth_path, load_splits
from pruning.models import Dataset, Experiment, PIESelection, TrainingRun

pytestmark = pytest.mark.django_db


def _dataset(name="d1") -> Dataset:
    return Dataset.objects.create(name=name, kind="synthetic", spec={"kind": "synthetic", "root": "/nowhere"})


def _experiment(dataset, **fields) -> Experiment:
    base = {"name": "e", "arch": "tiny", "init": "random", "seeds": [0, 1]}
    return Experiment.objects.create(dataset=dataset, **{**base, **fields})


def test_a_seed_has_one_training_run_per_experiment():
    experiment = _experiment(_dataset())
    TrainingRun.objects.create(experiment=experiment, seed=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingRun.objects.create(experiment=experiment, seed=3)


def test_database_rejects_a_pie_fraction_outside_zero_to_one():
    experiment = _experiment(_dataset())
    with pytest.raises(IntegrityError), transaction.atomic():
        PIESelection.objects.create(experiment=experiment, sparsity=0.9, q=1.5)
    with pytest.raises(IntegrityError), transaction.atomic():
        Experiment.objects.filter(pk=experiment.pk).update(pie_q=0)


def test_one_pie_selection_per_experiment_sparsity_q_and_definition():
    experiment = _experiment(_dataset())
    PIESelection.objects.create(experiment=experiment, sparsity=0.9, q=0.05)
    with pytest.raises(IntegrityError), transaction.atomic():
        PIESelection.objects.create(experiment=experiment, sparsity=0.9, q=0.05)
    PIESelection.objects.create(experiment=experiment, sparsity=0.9, q=0.05, definition="hooker")


def test_results_protect_their_dataset_and_experiment_from_deletion():
    dataset = _dataset()
    experiment = _experiment(dataset)
    TrainingRun.objects.create(experiment=experiment, seed=0)
    with pytest.raises(ProtectedError):
        dataset.delete()
    with pytest.raises(ProtectedError):
        experiment.delete()


def test_experiment_clean_names_the_bad_values():
    experiment = Experiment(
        dataset=_dataset(),
        name="e",
        arch="tiny",
        init="imagenet",
        seeds=[0],
        sparsities=[0, 0.5, 1.2],
        pie_sparsity=0.9,
    )
    with pytest.raises(ValidationError) as info:
        experiment.full_clean()
    errors = info.value.message_dict
    assert "sparsity 1.2 is outside [0, 1)" in errors["sparsities"][0]
    assert "no ImageNet weights" in errors["init"][0]


def test_experiment_clean_requires_the_dense_model_and_the_pie_sparsity_among_the_sparsities():
    experiment = Experiment(dataset=_dataset(), name="e", arch="tiny", init="random", seeds=[0], sparsities=[0.5, 0.9])
    with pytest.raises(ValidationError, match="must include 0"):
        experiment.full_clean()
    experiment.sparsities = [0, 0.5]
    with pytest.raises(ValidationError, match="PIE sparsity 0.9 is not among the sparsities swept"):
        experiment.full_clean()


def test_experiment_defaults_are_the_papers_and_artifacts_live_under_the_artifact_root(settings):
    experiment = _experiment(_dataset())
    assert experiment.sparsities == [
        0.0,
        0.05,
        0.1,
        0.15,
        0.2,
        0.25,
        0.3,
        0.35,
        0.4,
        0.45,
        0.5,
        0.55,
        0.6,
        0.65,
        0.7,
        0.75,
        0.8,
        0.85,
        0.9,
        0.95,
    ]
    assert (experiment.epochs, experiment.batch_size, experiment.lr, experiment.patience) == (60, 256, 1e-4, 15)
    assert (experiment.pie_sparsity, experiment.pie_q, experiment.pie_definition) == (0.9, 0.05, "spearman")
    assert str(experiment.artifact_dir).endswith(f"experiments/{experiment.pk}")
    assert str(experiment.artifact_dir).startswith(str(settings.ARTIFACT_ROOT))
    run = TrainingRun.objects.create(experiment=experiment, seed=7)
    assert run.out_dir == experiment.artifact_dir / "seed-7"


@pytest.mark.parametrize(
    ("text", "seeds"), [("0-29", list(range(30))), ("0,1,2", [0, 1, 2]), ("0-2, 10", [0, 1, 2, 10]), ("5", [5])]
)
def test_seeds_parse_from_ranges_and_lists(text, seeds):
    assert params.parse_seeds(text) == seeds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("zero", "'zero' is not a non-negative integer"),
        ("3-1", "runs backwards"),
        ("1,1", "given twice"),
        ("", "no seeds"),
        ("-1", "'-1' is not"),
    ],
)
def test_bad_seeds_get_a_message_naming_them(text, message):
    with pytest.raises(params.ParamError, match=message):
        params.parse_seeds(text)


def test_sparsities_outside_zero_to_one_are_named():
    with pytest.raises(params.ParamError, match="sparsity 1.2 is outside"):
        params.parse_sparsities("0, 0.5, 1.2")
    with pytest.raises(params.ParamError, match="'x' is not a number"):
        params.parse_sparsities("0, x")
    assert params.parse_sparsities("0, 0.5") == [0.0, 0.5]


def test_web_side_choices_mirror_the_engine():
    from pruning.engine.compress import METHODS
    from pruning.engine.nets import ARCHS

    assert params.ARCHS == ARCHS and params.PRUNE_METHODS == METHODS
    assert [c for c, _ in Experiment._meta.get_field("prune_method").choices] == list(METHODS)


def test_seeds_label_compresses_ranges():
    assert Experiment(seeds=[0, 1, 2, 5, 7, 8]).seeds_label == "0-2, 5, 7-8"


def test_spec_rejects_an_unknown_kind_and_missing_keys(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset kind 'chexpert'; choose one of synthetic"):
        load_splits({"kind": "chexpert"})
    with pytest.raises(DatasetError, match="lacks 'labels_dir', 'image_root'"):
        load_splits({"kind": "nih-cxr-lt"})
    with pytest.raises(DatasetError, match="dataset.json: not found"):
        load_splits({"kind": "synthetic", "root": str(tmp_path)})
    assert hidden_truth_path({"kind": "synthetic", "root": "/data/syn"}).as_posix() == "/data/syn/hidden_truth.csv"
    assert hidden_truth_path({"kind": "nih-cxr-lt", "labels_dir": "/l", "image_root": "/i"}) is None


def test_spec_loads_a_csv_dataset_with_a_path_column(tmp_path):
    from PIL import Image

    for i in range(6):
        Image.new("L", (8, 8), i * 20).save(tmp_path / f"im{i}.png")
    for split, rows in {"train": [0, 1], "val": [2, 3], "test": [4, 5]}.items():
        lines = ["uid,file,A,B"] + [f"u{i},im{i}.png,{i % 2},1" for i in rows]
        (tmp_path / f"{split}.csv").write_text("\n".join(lines) + "\n")
    spec = {
        "kind": "csv",
        "split_csvs": {s: str(tmp_path / f"{s}.csv") for s in ("train", "val", "test")},
        "image_root": str(tmp_path),
        "id_column": "uid",
        "path_column": "file",
    }
    splits = load_splits(spec)
    assert splits["test"].ids == ["u4", "u5"] and splits["test"].paths[1] == tmp_path / "im5.png"
    assert splits["train"].class_names == ["A", "B"]


def test_starting_the_same_pie_selection_twice_queues_one_job():
    from pruning.services_experiments import pie_selection_start

    experiment = _experiment(_dataset())
    first = pie_selection_start(experiment=experiment, sparsity=0.5, q=0.1, definition="spearman")
    again = pie_selection_start(experiment=experiment, sparsity=0.5, q=0.1, definition="spearman")
    assert again.pk == first.pk and again.job_id == first.job_id is not None


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_of_the_same_pie_selection_create_one_selection_and_one_job():
    import threading

    from django.db import connection

    from jobs.models import Job
    from pruning.services_experiments import pie_selection_start

    experiment = _experiment(_dataset())
    barrier, errors = threading.Barrier(4), []

    def start():
        try:
            barrier.wait()
            pie_selection_start(experiment=experiment, sparsity=0.5, q=0.1, definition="spearman")
        except Exception as exc:  # collected: an exception in a thread would otherwise vanish
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert PIESelection.objects.filter(experiment=experiment).count() == 1
    assert Job.objects.filter(kind="select_pies").count() == 1


def test_the_experiments_pie_selection_is_found_within_the_sparsity_tolerance_not_by_sql_equality():
    from pruning.services_experiments import pie_selection_get_or_create

    experiment = _experiment(_dataset(), pie_sparsity=0.9)
    stored = PIESelection.objects.create(experiment=experiment, sparsity=0.3 * 3, q=0.05)  # 0.8999999999999999
    assert stored.sparsity != 0.9  # what SQL `sparsity = 0.9` would miss
    assert list(PIESelection.objects.of_experiment(experiment)) == [stored]
    assert pie_selection_get_or_create(experiment=experiment).pk == stored.pk
    assert PIESelection.objects.count() == 1
    assert not PIESelection.objects.of_experiment(experiment, sparsity=0.9 + 1e-6).exists()


def test_get_or_create_makes_the_selection_at_other_settings_and_validates_it():
    from pruning.services_experiments import pie_selection_get_or_create

    experiment = _experiment(_dataset())
    hooker = pie_selection_get_or_create(experiment=experiment, sparsity=0.5, q=0.1, definition="hooker")
    assert (hooker.sparsity, hooker.q, hooker.definition) == (0.5, 0.1, "hooker")
    assert pie_selection_get_or_create(experiment=experiment, sparsity=0.5, q=0.1, definition="hooker") == hooker
    with pytest.raises(ValidationError):
        pie_selection_get_or_create(experiment=experiment, q=2.0)
