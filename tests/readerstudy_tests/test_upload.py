"""Building a study from an uploaded zip of images and a CSV: the happy path and row-level errors."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from readerstudy import builder
from readerstudy.models import Case, Study
from readerstudy.upload import UploadError

from .conftest import make_png

pytestmark = pytest.mark.django_db


def build_zip(tmp_path, rows: list[str], *, csv_in_zip=True, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for k in range(8):
            zf.writestr(f"images/img{k}.png", make_png(tmp_path / f"u{k}.png", k).read_bytes())
        if csv_in_zip:
            zf.writestr("cases.csv", "\n".join(rows) + "\n")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buffer.getvalue()


GOOD = ["filename,shown_labels,is_pie,correlation,dataset,label_noise"] + [
    f"images/img{k}.png,Effusion|Nodule,{'yes' if k < 4 else 'no'},0.{k}5,NIH,{k % 2}" for k in range(8)
]


def test_upload_builds_a_balanced_study_with_hidden_truth(artifacts, tmp_path, admin_user):
    study = builder.study_create_from_upload(
        title="Uploaded",
        archive=io.BytesIO(build_zip(tmp_path, GOOD)),
        n_forms=2,
        cases_per_form=4,
        created_by=admin_user,
    )
    cases = Case.objects.filter(study=study)
    assert cases.count() == 8 and cases.filter(is_pie=True).count() == 4
    case = cases.get(source_image_id="images/img3.png")
    assert case.shown_labels == ["Effusion", "Nodule"] and case.correlation == 0.35 and case.dataset == "NIH"
    assert case.hidden_truth == {"label_noise": 1}
    assert study.source["kind"] == "upload" and study.source["rows"] == 8


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["file,shown_labels"], "missing column(s) filename, is_pie"),
        (GOOD[:2] + ["images/img1.png,Effusion,maybe,,NIH,0"], "row 3: is_pie 'maybe' is not one of"),
        (GOOD[:2] + ["images/nope.png,Effusion,1,,NIH,0"], "row 3: file 'images/nope.png' is not in the zip"),
        (GOOD[:2] + ["images/img1.png,Effusion,1,high,NIH,0"], "row 3: correlation 'high' is not a number"),
        (GOOD[:2] + ["images/img0.png,Effusion,1,,NIH,0"], "row 3: 'images/img0.png' is listed again (first on row 2)"),
        (GOOD[:2] + ["broken.png,Effusion,1,,NIH,0"], "row 3: 'broken.png' is not a readable image"),
        (GOOD[:2] + ["notes.txt,Effusion,1,,NIH,0"], "row 3: 'notes.txt' is not a PNG, JPEG, TIFF, BMP or DICOM"),
        (["filename,shown_labels,is_pie"], "cases.csv has no data rows"),
    ],
)
def test_malformed_upload_lists_the_problem_and_creates_nothing(artifacts, tmp_path, rows, message):
    data = build_zip(tmp_path, rows, extra={"broken.png": b"not a png", "notes.txt": b"hello"})
    with pytest.raises(UploadError) as exc:
        builder.study_create_from_upload(title="Bad", archive=io.BytesIO(data), n_forms=1, cases_per_form=2)
    assert any(message in e for e in exc.value.errors), exc.value.errors
    assert not Study.objects.exists()
    assert not (artifacts / "readerstudy").exists() or not any((artifacts / "readerstudy").rglob("*.png"))


def test_not_a_zip_and_missing_csv_are_explained(artifacts, tmp_path):
    with pytest.raises(UploadError, match="not a zip archive"):
        builder.study_create_from_upload(title="X", archive=io.BytesIO(b"PK? no"))
    with pytest.raises(UploadError, match=r"exactly one .csv .* \(found none\)"):
        builder.study_create_from_upload(title="X", archive=io.BytesIO(build_zip(tmp_path, GOOD, csv_in_zip=False)))


def test_admin_upload_page_builds_a_study_or_shows_row_errors(artifacts, tmp_path, admin_client_, reader_a, reader_b):
    fields = {
        "source": "upload",
        "up-title": "Web upload",
        "up-n_forms": 2,
        "up-cases_per_form": 4,
        "up-pie_fraction": 0.5,
        "up-readers_per_form": 1,
        "up-repeat_cases": 0,
        "up-seed": 0,
        "up-allow_back": "on",
        "up-allow_change": "on",
        "up-readers": [reader_a.pk, reader_b.pk],
    }
    r = admin_client_.post(reverse("readerstudy:new"), {**fields, "up-archive": SimpleUploadedFile("x.zip", b"PK?")})
    assert r.status_code == 400 and r.content.decode().count("The upload is not a zip archive.") == 1  # once
    # The build runs as a job (issue 10): the page queues it and shows the job; row errors end up there.
    from jobs.execution import job_run
    from jobs.models import Job
    from readerstudy.build_job import uploads_root

    bad = build_zip(tmp_path, [*GOOD[:2], "images/img1.png,Effusion,maybe,,NIH,0"])
    r = admin_client_.post(reverse("readerstudy:new"), {**fields, "up-archive": SimpleUploadedFile("b.zip", bad)})
    job = Job.objects.get(kind="study_build")
    assert r.status_code == 302 and r.url == reverse("jobs:job_detail", args=[job.pk])
    assert job_run(job_id=job.pk) == Job.Status.FAILED
    job.refresh_from_db()
    assert "row 3: is_pie 'maybe'" in job.error
    assert not Study.objects.exists() and list(uploads_root().iterdir()) == [], "a failed build leaves no files"
    good = build_zip(tmp_path, GOOD)
    r = admin_client_.post(reverse("readerstudy:new"), {**fields, "up-archive": SimpleUploadedFile("g.zip", good)})
    job = Job.objects.filter(kind="study_build").latest("pk")
    assert job_run(job_id=job.pk) == Job.Status.SUCCEEDED
    job.refresh_from_db()
    study = Study.objects.get()
    assert job.result["study_id"] == study.pk and job.progress_done == job.progress_total
    assert study.status == "draft" and study.cases.count() == 8 and study.created_by.username == "admin1"
    assert list(uploads_root().iterdir()) == []


def test_design_that_does_not_fit_the_upload_is_explained(artifacts, tmp_path, admin_client_):
    with pytest.raises(ValueError, match=r"need 20 PIEs and 20 non-PIEs .* has 4 PIEs and 4 non-PIEs"):
        builder.study_create_from_upload(
            title="X", archive=io.BytesIO(build_zip(tmp_path, GOOD)), n_forms=2, cases_per_form=20
        )
