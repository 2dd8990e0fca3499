"""Building a study from an upload, as a job (kind "study_build") instead of inside the admin's request.

The request only stores the two uploaded files under ARTIFACT_ROOT/readerstudy/uploads/<random>/ after the
cheap checks (sizes, and the entry count from the zip's end record: readerstudy.upload.zip_directory_check;
the central directory itself is parsed in the job, readerstudy.upload.check_archive), and queues the job;
the admin follows its progress on the job page.
The worker validates every row, re-encodes the images and writes the study. Whatever happens, the stored
upload is removed when the job ends, and a failed build leaves no image files behind (the builder removes
them, the extraction folder is temporary).
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model

JOB_KIND = "study_build"
CHUNK = 1 << 20


def uploads_root() -> Path:
    return Path(settings.ARTIFACT_ROOT) / "readerstudy" / "uploads"


def _store(upload: IO[bytes], target: Path, limit: int) -> None:
    """Copy an uploaded file in chunks, refusing it once it passes `limit` bytes."""
    from readerstudy.upload import UploadError

    written = 0
    if hasattr(upload, "seek"):
        upload.seek(0)
    with target.open("wb") as out:
        while chunk := upload.read(CHUNK):
            written += len(chunk)
            if written > limit:
                raise UploadError(f"The upload is larger than {limit // 2**20} MB.")
            out.write(chunk)


def study_build_start(*, archive: IO[bytes], csv_file: IO[bytes] | None, user, **design: Any):
    """Store the upload, check the zip's directory, and queue the build job; returns the job."""
    from jobs.services import job_create
    from readerstudy.upload import MAX_CSV_BYTES, MAX_TOTAL_BYTES, zip_directory_check

    folder = uploads_root() / secrets.token_hex(12)
    folder.mkdir(parents=True)
    try:
        _store(archive, folder / "archive.zip", MAX_TOTAL_BYTES)
        # Only the end record here (a bounded read); the job parses the central directory (check_archive).
        zip_directory_check(folder / "archive.zip")
        if csv_file is not None:
            _store(csv_file, folder / "cases.csv", MAX_CSV_BYTES)
        readers = [u.pk for u in design.pop("readers", [])]
        params = {
            "upload_dir": folder.name,
            "archive_name": Path(str(getattr(archive, "name", "upload.zip"))).name,
            "created_by": getattr(user, "pk", None),
            "readers": readers,
            "design": design,
        }
        return job_create(kind=JOB_KIND, params=params, user=user, artifact_dir=str(folder))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def jobs_visible_q(user):
    """Build jobs a non-admin may see: their own, and those that built a study the user is granted."""
    from readerstudy.access import study_jobs_q

    return study_jobs_q(user, "result__study_id")


def run_study_build(job, progress) -> dict:
    """Runner of the "study_build" job kind: build the study, then drop the stored upload (always)."""
    from readerstudy.builder import study_create_from_upload
    from readerstudy.upload import UploadError

    params = job.params
    name = str(params["upload_dir"])
    folder = uploads_root() / name
    try:
        if "/" in name or "\\" in name or name.startswith(".") or not folder.is_dir():
            raise UploadError("The uploaded files of this build are gone; upload them again.")
        User = get_user_model()
        by_pk = User.objects.in_bulk(params.get("readers", []))
        readers = [by_pk[pk] for pk in params.get("readers", []) if pk in by_pk]
        csv_path = folder / "cases.csv"
        study = study_create_from_upload(
            archive=folder / "archive.zip",
            archive_name=params.get("archive_name", "upload.zip"),
            csv_file=csv_path if csv_path.is_file() else None,
            created_by=User.objects.filter(pk=params.get("created_by")).first(),
            readers=readers,
            progress=progress,
            **params["design"],
        )
    except UploadError as exc:  # the job page shows the message: make it list every problem found
        raise UploadError("\n".join([exc.message, *(e for e in exc.errors if e != exc.message)])) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    progress(1000, 1000, f"study '{study.title}' built with {study.cases.count()} cases")
    return {"study_id": study.pk, "title": study.title, "n_cases": study.cases.count()}
