"""Datasets with DICOM images: the checker refuses bad files by name and the decoder reads RG1_UNCR.dcm
(pydicom-data) through common.dicom (MONOCHROME1 inverted, the file's window) at the training size."""

from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from common.dicom import read_radiograph
from pruning.engine.data import _image_problem
from pruning.engine.data_decode import decode_one
from pruning.engine.errors import DatasetError

RG1 = Path(get_testdata_file("RG1_UNCR.dcm", download=False))


def test_a_dicom_decodes_to_the_windowed_inverted_image_at_the_training_size():
    got = decode_one(RG1, 64)
    raw = pydicom.dcmread(RG1).pixel_array.astype(np.float64)
    windowed = np.clip(np.rint(255 * (1 - raw / 30000)), 0, 255).astype(np.uint8)  # window 15000/30000, inverted
    want = np.asarray(Image.fromarray(windowed).resize((64, 64), Image.Resampling.BILINEAR, reducing_gap=None))
    assert got.shape == (64, 64) and got.dtype == np.uint8
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert np.abs(read_radiograph(RG1).display8().astype(int) - windowed).max() <= 1  # rounding at .5 only


def test_the_dataset_check_names_what_is_wrong_with_a_dicom(tmp_path):
    assert _image_problem(RG1) is None
    ds = pydicom.dcmread(RG1)
    del ds.PixelData
    ds.save_as(tmp_path / "empty.dcm", enforce_file_format=True)
    assert _image_problem(tmp_path / "empty.dcm").startswith("has no pixel data")
    assert _image_problem(Path(get_testdata_file("emri_small.dcm", download=False))).startswith("is a multi-frame")
    with pytest.raises(DatasetError, match="empty.dcm: empty.dcm: has no pixel data"):
        decode_one(tmp_path / "empty.dcm", 32)
