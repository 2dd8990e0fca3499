"""The viewer's ruler reads mm from the DICOM pixel spacing: PixelSpacing (calibrated) before
ImagerPixelSpacing (at the detector), none when the header gives neither (or nonsense, as RG1's 0/0)."""

from pathlib import Path

import pydicom
import pytest
from django.urls import reverse
from pydicom.data import get_testdata_file

from common.dicom import read_radiograph
from readerstudy import builder, services
from readerstudy.design import Candidate
from readerstudy.models import Assignment, Case

from .conftest import make_png

pytestmark = pytest.mark.django_db
RG1 = Path(get_testdata_file("RG1_UNCR.dcm", download=False))


def _copy(tmp_path: Path, name: str, **elements) -> Path:
    ds = pydicom.dcmread(RG1)
    for key, value in elements.items():
        setattr(ds, key, value)
    path = tmp_path / name
    ds.save_as(path, enforce_file_format=True)
    return path


def test_spacing_comes_from_pixel_spacing_then_imager_pixel_spacing(tmp_path):
    assert read_radiograph(RG1).spacing_mm is None  # its PixelSpacing is 0\0: no ruler in mm
    both = read_radiograph(_copy(tmp_path, "a.dcm", PixelSpacing=[0.15, 0.16], ImagerPixelSpacing=[0.2, 0.2]))
    assert (both.spacing_mm, both.spacing_source) == ((0.15, 0.16), "PixelSpacing")
    imager = read_radiograph(_copy(tmp_path, "b.dcm", ImagerPixelSpacing=[0.139, 0.139]))
    assert (imager.spacing_mm, imager.spacing_source) == ((0.139, 0.139), "ImagerPixelSpacing")


def test_the_reader_payload_carries_the_spacing_of_a_dicom_case_only(artifacts, tmp_path, reader_a, reader_a_client):
    spaced = _copy(tmp_path, "s.dcm", ImagerPixelSpacing=[0.139, 0.14])
    cands = [
        Candidate(image_path=spaced, source_image_id="d", is_pie=True),
        Candidate(image_path=make_png(tmp_path / "n.png", 3), source_image_id="p", is_pie=False),
    ]
    study = services.study_open(
        study=builder.study_create_from_candidates(
            title="Spacing", candidates=cands, n_forms=1, cases_per_form=2, readers=[reader_a]
        )
    )
    order = Assignment.objects.get(study=study).order
    got = {}
    for position in (1, 2):
        payload = reader_a_client.get(reverse("readerstudy:api-reader-case", args=[study.pk, position])).json()
        got[Case.objects.get(pk=order[position - 1]).source_image_id] = payload["case"]["pixel_spacing"]
        if position == 1:
            case = Case.objects.get(pk=order[0])
            services.answers_submit(
                reader=reader_a, case=case, values={"agree_label": "yes", "quality": 3, "difficulty": 3}, complete=True
            )
    assert got == {"d": {"row_mm": 0.139, "col_mm": 0.14, "detector": True}, "p": None}
