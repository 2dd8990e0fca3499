"""DICOM ingest: RG1_UNCR.dcm (pydicom-data: a real 1955x1841, 15-bit MONOCHROME1 chest radiograph) read with
the modality LUT, inverted, stored at full depth with its window; bad files refused by name with nothing built;
and no header value of the source in any response."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.urls import reverse
from PIL import Image
from pydicom.data import get_testdata_file

from common.dicom import DicomError, read_radiograph
from readerstudy import builder, services
from readerstudy.design import Candidate
from readerstudy.models import Assignment, Case, Study
from readerstudy.upload import UploadError

from .conftest import make_png

pytestmark = pytest.mark.django_db
RG1 = Path(get_testdata_file("RG1_UNCR.dcm", download=False))  # pinned pydicom-data: nothing downloads


def test_rg1_is_inverted_at_full_depth_with_the_files_window_in_stored_units():
    raw = pydicom.dcmread(RG1).pixel_array.astype(np.int64)
    r = read_radiograph(RG1)
    assert r.pixels.shape == (1955, 1841) and r.pixels.dtype == np.uint16
    # MONOCHROME1: high raw = dark. Stored = max + min - raw, shifted to start at 0 (slope 1, intercept 0).
    assert np.array_equal(r.pixels.astype(np.int64), raw.max() - raw)
    assert r.max_value == 26479 - 874 and len(np.unique(r.pixels)) > 4096  # more than 12 bits of grey levels
    # Window 15000/30000 in raw values: its centre mirrors to 26479 + 874 - 15000 = 12353, minus the 874 offset.
    assert (r.center, r.width, r.window_from_file) == (11479.0, 30000.0, True)
    # The display rendering is that window, brightness reversed relative to the raw values.
    display = r.display8().astype(np.float64)
    expected = np.clip(np.rint(255 * (1 - (raw - (15000 - 15000)) / 30000)), 0, 255)
    assert np.abs(display - expected).max() <= 1


def _copy(tmp_path, name, change) -> Path:
    ds = pydicom.dcmread(RG1)
    change(ds)
    path = tmp_path / name
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda tmp: _copy(tmp, "nopixels.dcm", lambda ds: delattr(ds, "PixelData")),
            "nopixels.dcm: has no pixel data",
        ),
        (lambda tmp: Path(get_testdata_file("emri_small.dcm", download=False)), "emri_small.dcm: is a multi-frame"),
        (
            lambda tmp: Path(get_testdata_file("MR_small_jpeg_ls_lossless.dcm", download=False)),
            "MR_small_jpeg_ls_lossless.dcm: compressed as JPEG-LS Lossless Image Compression and no decoder",
        ),
    ],
)
def test_unreadable_dicoms_are_refused_naming_the_file(tmp_path, make, message):
    with pytest.raises(DicomError, match=message):
        read_radiograph(make(tmp_path))


def test_an_upload_with_a_bad_dicom_builds_nothing_and_names_it(artifacts, tmp_path, admin_user):
    bad = _copy(tmp_path, "x.dcm", lambda ds: delattr(ds, "PixelData"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("images/good.dcm", RG1.read_bytes())
        zf.writestr("images/bad.dcm", bad.read_bytes())
        zf.writestr("images/p.png", make_png(tmp_path / "p.png", 1).read_bytes())
        zf.writestr("images/q.png", make_png(tmp_path / "q.png", 2).read_bytes())
        rows = ["filename,shown_labels,is_pie", "images/good.dcm,Effusion,yes", "images/bad.dcm,Effusion,yes"]
        rows += ["images/p.png,Nodule,no", "images/q.png,Nodule,no"]
        zf.writestr("cases.csv", "\n".join(rows) + "\n")
    with pytest.raises(UploadError) as e:
        builder.study_create_from_upload(title="D", archive=io.BytesIO(buffer.getvalue()), n_forms=1, cases_per_form=4)
    assert any("images/bad.dcm: has no pixel data" in line for line in e.value.errors), e.value.errors
    assert not Study.objects.exists() and not list(Path(artifacts).rglob("*.u16"))


@pytest.fixture
def dicom_study(artifacts, tmp_path, reader_a, admin_user):
    cands = [Candidate(image_path=RG1, source_image_id="case-dcm", is_pie=True, shown_labels=["Effusion"])]
    cands.append(Candidate(image_path=make_png(tmp_path / "n.png", 3), source_image_id="case-png", is_pie=False))
    study = builder.study_create_from_candidates(
        title="DICOM", candidates=cands, n_forms=1, cases_per_form=2, readers=[reader_a], created_by=admin_user
    )
    return services.study_open(study=study)


def test_a_dicom_case_keeps_full_depth_pixels_and_serves_them_to_its_reader(dicom_study, reader_a_client):
    case = Case.objects.get(study=dicom_study, source_image_id="case-dcm")
    assert (case.width, case.height) == (1841, 1955) and case.display_window["from_file"] is True
    body = b"".join(reader_a_client.get(reverse("readerstudy:image_full", args=[case.token])).streaming_content)
    stored = np.frombuffer(body, dtype="<u2").reshape(1955, 1841)
    assert np.array_equal(stored, read_radiograph(RG1).pixels)
    png = Image.open(
        io.BytesIO(b"".join(reader_a_client.get(reverse("readerstudy:image", args=[case.token])).streaming_content))
    )
    assert png.mode == "L" and png.size == (1841, 1955) and not png.info
    position = Assignment.objects.get(study=dicom_study).order.index(case.pk) + 1
    payload = reader_a_client.get(reverse("readerstudy:api-reader-case", args=[dicom_study.pk, position])).json()
    assert payload["case"]["depth"]["max"] == 25605 and payload["case"]["depth"]["center"] == 11479.0


def _header_values() -> set[str]:
    """Every textual header value of the source (names, ids, dates, times, UIDs, descriptions)."""
    ds = pydicom.dcmread(RG1)
    values = set()
    for element in ds.iterall():
        if element.VR in ("PN", "LO", "SH", "DA", "DT", "TM", "UI", "LT", "ST", "UT", "AE") and element.value:
            for v in element.value if element.VM > 1 else [element.value]:
                if len(str(v)) >= 4:
                    values.add(str(v))
    return values


def test_no_header_value_of_the_source_appears_in_any_response(dicom_study, reader_a_client, admin_client):
    values = _header_values()
    assert {"CompressedSamples^RG1", "9RG1", "19400305", "Philips Medical Systems Hamburg"} <= values
    case = Case.objects.get(study=dicom_study, source_image_id="case-dcm")
    pk, token = dicom_study.pk, case.token
    position = Assignment.objects.get(study=dicom_study).order.index(case.pk) + 1
    reader_urls = [
        reverse("readerstudy:intro", args=[pk]), reverse("readerstudy:read", args=[pk, position]),
        reverse("readerstudy:api-reader-case", args=[pk, position]), reverse("readerstudy:image", args=[token]),
        reverse("readerstudy:image_full", args=[token]), reverse("readerstudy:api-study-answers", args=[pk]),
    ]  # fmt: skip
    researcher_urls = [
        reverse("readerstudy:dashboard", args=[pk]), reverse("readerstudy:export_tidy", args=[pk]),
        reverse("readerstudy:api-study-cases", args=[pk]), reverse("readerstudy:image", args=[token]),
        reverse("readerstudy:image_full", args=[token]), reverse("readerstudy:protocol", args=[pk]),
    ]  # fmt: skip
    checked = 0
    for client, urls in ((reader_a_client, reader_urls), (admin_client, researcher_urls)):
        for url in urls:
            r = client.get(url)
            assert r.status_code == 200, url
            body = b"".join(r.streaming_content) if r.streaming else r.content
            leaked = [v for v in values if v.encode() in body]
            assert leaked == [], f"{url} carries header values {leaked}"
            checked += 1
    assert checked == 12
