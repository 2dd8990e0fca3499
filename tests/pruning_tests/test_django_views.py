"""Dataset and experiment pages: who may do what, form errors that name the bad value, and the
"New experiment" page creating the experiment with its jobs."""

import html

import pytest
from PIL import Image

from jobs.kinds import job_kind_get
from jobs.models import Job
from pruning.models import Dataset, Experiment, TrainingRun

pytest_plugins = ["tests.pruning_tests.django_support"]
pytestmark = pytest.mark.django_db


def page(response) -> str:
    """The page as text, HTML entities decoded (messages quote values with ')."""
    return html.unescape(response.content.decode())


def _experiment_post(dataset, **overrides) -> dict:
    data = {
        "dataset": dataset.pk,
        "name": "tiny from the web",
        "arch": "tiny",
        "seeds": "0-1",
        "epochs": 1,
        "image_size": 32,
        "init": "random",
        "batch_size": 32,
        "lr": 0.001,
        "patience": 3,
        "prune_method": "l1",
        "sparsities": "0, 0.05, 0.1, 0.5, 0.9, 0.95",
        "pie_sparsity": 0.9,
        "pie_q": 0.05,
        "pie_definition": "spearman",
    }
    return {**data, **overrides}


def test_new_experiment_page_creates_the_experiment_its_runs_and_the_parent_job(admin_client_, synthetic_dataset):
    from jobs.execution import job_run

    response = admin_client_.post("/experiments/new/", _experiment_post(synthetic_dataset))
    experiment = Experiment.objects.get()
    assert response.status_code == 302 and response.url == f"/experiments/{experiment.pk}/"
    assert experiment.seeds == [0, 1] and experiment.sparsities == [0, 0.05, 0.1, 0.5, 0.9, 0.95]
    assert list(TrainingRun.objects.values_list("seed", flat=True)) == [0, 1]
    parent = experiment.job
    assert (parent.kind, parent.status, parent.params) == ("experiment", "queued", {"experiment_id": experiment.pk})
    assert parent.created_by.username == "admin1"

    # The parent fans out one train job per seed on the gpu queue, then waits for them.
    assert job_run(job_id=parent.pk) == Job.Status.RUNNING
    children = parent.children.order_by("id")
    assert [(j.kind, j.status) for j in children] == [("train", "queued"), ("train", "queued")]
    assert {job_kind_get(j.kind).queue for j in children} == {"gpu"}
    assert parent.children.count() == 2 and job_run(job_id=parent.pk) == Job.Status.RUNNING  # no second fan-out
    page = admin_client_.get(f"/experiments/{experiment.pk}/")
    assert page.status_code == 200 and b"Seed 1 \xc2\xb7 train" in page.content


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sparsities", "0, 0.5, 1.2", "sparsity 1.2 is outside [0, 1)"),
        ("sparsities", "0.5, 0.9", "must include 0"),
        ("arch", "vgg16", "vgg16 is not one of the available choices"),
        ("seeds", "0-x", "'0-x' is not a non-negative integer"),
        ("pie_sparsity", "0.8", "PIE sparsity 0.8 is not among the sparsities swept"),
        ("init", "/no/such/weights.pt", "neither imagenet, random nor an existing weights file"),
    ],
)
def test_new_experiment_form_shows_a_message_naming_the_bad_value(
    admin_client_, synthetic_dataset, field, value, message
):
    response = admin_client_.post("/experiments/new/", _experiment_post(synthetic_dataset, **{field: value}))
    assert response.status_code == 200
    assert message in page(response)
    assert not Experiment.objects.exists() and not Job.objects.exists()


def test_researchers_read_but_only_admins_create(researcher_client, reader_a_client, synthetic_dataset):
    assert researcher_client.get("/datasets/").status_code == 200
    assert researcher_client.get("/experiments/").status_code == 200
    assert researcher_client.get("/experiments/new/").status_code == 403
    assert researcher_client.get("/datasets/register/").status_code == 403
    assert researcher_client.post("/datasets/synthetic/", {"name": "x", "n": 50, "size": 32}).status_code == 403
    assert reader_a_client.get("/datasets/").status_code == 403
    assert reader_a_client.get("/experiments/").status_code == 403


def _csv_dataset(root, rows=None, drop_image=None) -> dict:
    """Six 8x8 PNGs, two per split, classes A and B; returns the register form's POST data."""
    for i in range(6):
        if i != drop_image:
            Image.new("L", (8, 8), i * 20).save(root / f"im{i}.png")
    good = {"train": ["im0,1,0", "im1,0,1"], "val": ["im2,0,0", "im3,1,1"], "test": ["im4,1,0", "im5,0,1"]}
    for split, lines in {**good, **(rows or {})}.items():
        header = lines.pop(0) if lines[0].startswith("id") else "id,A,B"
        (root / f"{split}.csv").write_text(header + "\n" + "\n".join(lines) + "\n")
    return {
        "name": "tiny-csv",
        "kind": "csv",
        "image_root": str(root),
        "id_column": "id",
        "check_images": "on",
        "train_csv": str(root / "train.csv"),
        "val_csv": str(root / "val.csv"),
        "test_csv": str(root / "test.csv"),
    }


def test_registering_a_valid_csv_dataset_records_its_splits(admin_client_, tmp_path):
    data = _csv_dataset(tmp_path)
    data["path_column"] = ""
    (tmp_path / "im0").symlink_to(tmp_path / "im0.png")  # ids are file names here
    for i in range(1, 6):
        (tmp_path / f"im{i}").symlink_to(tmp_path / f"im{i}.png")
    response = admin_client_.post("/datasets/register/", data)
    assert response.status_code == 302, page(response)[-2000:]
    dataset = Dataset.objects.get()
    assert (dataset.kind, dataset.n_train, dataset.n_val, dataset.n_test) == ("csv", 2, 2, 2)
    assert dataset.class_names == ["A", "B"] and dataset.validated_at is not None


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"rows": {"val": ["id,A", "im2,0", "im3,1"]}}, "val.csv: missing class column(s) ['B']"),
        (
            {"rows": {"train": ["im0,1,0", "im1,2,1"]}},
            "train.csv: column 'A' must hold 0/1 labels; 1 row(s) do not, first: line 3 (id 'im1'): '2'",
        ),
        ({"drop_image": 5}, "1 of 6 images missing or unreadable"),
    ],
)
def test_dataset_registration_shows_the_engines_error_naming_file_row_or_value(
    admin_client_, tmp_path, broken, message
):
    data = _csv_dataset(tmp_path, **broken)
    for i in range(6):
        if (tmp_path / f"im{i}.png").exists():
            (tmp_path / f"im{i}").symlink_to(tmp_path / f"im{i}.png")
    response = admin_client_.post("/datasets/register/", data)
    assert response.status_code == 200
    assert message in page(response)
    assert "Traceback" not in page(response)
    assert not Dataset.objects.exists()


def test_dataset_registration_explains_a_folder_that_is_not_a_synthetic_dataset(admin_client_, tmp_path):
    response = admin_client_.post("/datasets/register/", {"name": "syn", "kind": "synthetic", "root": str(tmp_path)})
    assert "dataset.json: not found; is" in page(response)
    response = admin_client_.post("/datasets/register/", {"name": "nih", "kind": "nih-cxr-lt"})
    assert page(response).count("Required for a NIH-CXR-LT") == 2


def test_synthetic_form_starts_a_make_synthetic_job(admin_client_, settings):
    response = admin_client_.post("/datasets/synthetic/", {"name": "demo", "n": 300, "size": 64, "seed": 3})
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == f"/jobs/{job.pk}/"
    assert job.kind == "make_synthetic" and job_kind_get(job.kind).queue == "default"
    assert job.params == {
        "name": "demo",
        "n": 300,
        "size": 64,
        "seed": 3,
        "out_dir": str(settings.ARTIFACT_ROOT / "datasets" / "demo"),
    }
    response = admin_client_.post("/datasets/synthetic/", {"name": "x", "n": 300, "size": 16, "seed": 0})
    assert response.status_code == 400 and "greater than or equal to 32" in page(response)


def test_downloads_of_unfinished_results_are_404_not_errors(
    researcher, researcher_client, synthetic_dataset, tiny_fields
):
    from pruning.services_experiments import experiment_create

    experiment = experiment_create(start=False, **tiny_fields(synthetic_dataset))
    type(experiment).objects.filter(pk=experiment.pk).update(created_by=researcher)  # their own experiment
    assert researcher_client.get(f"/experiments/{experiment.pk}/").status_code == 200
    assert researcher_client.get(f"/experiments/{experiment.pk}/seed-0/curves.png").status_code == 404
    assert researcher_client.get(f"/experiments/{experiment.pk}/seed-0/secrets.txt").status_code == 404
    assert researcher_client.get(f"/experiments/{experiment.pk}/seed-9/history.csv").status_code == 404
