"""Per-image metadata: tidy layout, strict ages, "not available" for anything missing, the NIH join,
and the synthetic generator's attributes and its planted portable-film mechanism."""

import numpy as np
import pandas as pd
import pytest

from common.metadata import NA, MetadataError, align_metadata, attribute_columns, read_metadata_csv, tidy_metadata
from pruning.engine.metadata import metadata_for
from pruning.engine.synthetic import make_synthetic
from pruning.engine.synthetic_labels import PORTABLE_DROP, nih_table_path, sample_plan


def _csv(tmp_path, text):
    path = tmp_path / "meta.csv"
    path.write_text(text)
    return path


def test_nih_style_columns_become_sex_age_band_and_view(tmp_path):
    path = _csv(
        tmp_path,
        "Image Index,Patient ID,Patient Age,Patient Gender,View Position,site\n"
        "a.png,1,57,M,PA,north\nb.png,2,19,female,ap,\nc.png,2,80,F,AP,south\n",
    )
    meta = read_metadata_csv(path)
    assert list(meta.index) == ["a.png", "b.png", "c.png"]
    assert meta.loc["a.png", ["patient_id", "sex", "age_band", "view"]].tolist() == ["1", "M", "40-59", "PA"]
    assert meta.loc["b.png", ["sex", "age_band", "view", "site"]].tolist() == ["F", "0-19", "AP", NA]
    assert meta.loc["c.png", "age_band"] == "80+"
    assert attribute_columns(meta) == ["sex", "age_band", "view", "site"]


def test_age_given_as_text_is_an_error_naming_the_line_and_image(tmp_path):
    path = _csv(tmp_path, "image_id,age\nx1,40\nx2,forty\n")
    with pytest.raises(MetadataError, match=r"line 3 \(image 'x2'\): age 'forty' in column 'age' is not a number"):
        read_metadata_csv(path)


def test_age_out_of_range_is_an_error_naming_the_line(tmp_path):
    path = _csv(tmp_path, "image_id,age\nx1,40\nx2,-3\nx3,412\n")
    with pytest.raises(MetadataError, match=r"line 3 \(image 'x2'\): age '-3' .* outside 0..120 years \(2 such rows\)"):
        read_metadata_csv(path)


def test_missing_columns_cells_and_images_are_not_available_never_a_crash(tmp_path):
    meta = read_metadata_csv(_csv(tmp_path, "id,sex\nx1,\nx2,M\n"))
    aligned = align_metadata(meta, ["x2", "x1", "unknown"])
    assert aligned["sex"].tolist() == ["M", NA, NA]
    assert (aligned["age_band"] == NA).all() and (aligned["view"] == NA).all()
    assert attribute_columns(aligned) == ["sex"]
    none = align_metadata(None, ["a", "b"])
    assert none.shape == (2, 4) and (none == NA).all().all()


def test_mimic_path_ids_match_a_metadata_file_keyed_by_file_name():
    meta = tidy_metadata(pd.DataFrame({"dicom_id": ["abc.jpg"], "gender": ["F"], "anchor_age": ["66"]}))
    aligned = align_metadata(meta, ["files/p10/p10000032/s1/abc.jpg"])
    assert aligned.iloc[0][["sex", "age_band"]].tolist() == ["F", "60-79"]


def test_duplicate_or_empty_image_ids_are_errors():
    with pytest.raises(MetadataError, match="'a' appears more than once"):
        tidy_metadata(pd.DataFrame({"id": ["a", "a"]}))
    with pytest.raises(MetadataError, match="line 3: empty image id"):
        tidy_metadata(pd.DataFrame({"id": ["a", " "]}))


def test_nih_cxr_lt_joins_the_real_nih_table_by_image_id():
    if nih_table_path() is None:
        pytest.skip("torchxrayvision's NIH table is not installed")
    meta = metadata_for({"kind": "nih-cxr-lt", "labels_dir": "x", "image_root": "y"})
    assert len(meta) == 112_120
    # the table's first row: 00000001_000.png,Cardiomegaly,0,1,57,M,PA
    assert meta.loc["00000001_000.png", ["patient_id", "sex", "age_band", "view"]].tolist() == ["1", "M", "40-59", "PA"]
    assert set(meta["view"]) == {"PA", "AP"} and set(meta["sex"]) == {"M", "F"}


def test_a_spec_without_metadata_gives_none_and_a_metadata_csv_wins(tmp_path):
    spec = {"kind": "csv", "split_csvs": {"train": "a", "val": "b", "test": "c"}, "image_root": "r", "id_column": "id"}
    assert metadata_for(spec) is None
    path = _csv(tmp_path, "id,view\nq,PA\n")
    assert metadata_for({**spec, "metadata_csv": str(path)}).loc["q", "view"] == "PA"


def test_synthetic_set_keeps_its_real_rows_attributes(tmp_path):
    if nih_table_path() is None:
        pytest.skip("torchxrayvision's NIH table is not installed")
    make_synthetic(tmp_path, 12, size=32, seed=5, lung_masks=False)
    meta = metadata_for({"kind": "synthetic", "root": str(tmp_path)})
    truth = pd.read_csv(tmp_path / "hidden_truth.csv", dtype=str).set_index("id")
    nih = metadata_for({"kind": "nih-cxr-lt", "labels_dir": "x", "image_root": "y"})
    for image_id in meta.index:
        source = truth.loc[image_id, "source_image"]
        assert (
            meta.loc[image_id, ["sex", "age_band", "view"]].tolist()
            == nih.loc[source, ["sex", "age_band", "view"]].tolist()
        )
    assert "sex" not in truth.columns and "portable_degraded" in truth.columns


def test_portable_ap_films_are_planted_with_lower_quality():
    if nih_table_path() is None:
        pytest.skip("torchxrayvision's NIH table is not installed")
    plan, _ = sample_plan(20_000, seed=0)
    ap = plan["view"] == "AP"
    assert plan.loc[~ap, "portable_degraded"].sum() == 0
    # every AP film above the worst level is degraded with probability PORTABLE_DROP
    rate = plan.loc[ap, "portable_degraded"].mean()
    assert abs(rate - PORTABLE_DROP * (1 - 0.04)) < 0.02
    poor_ap, poor_pa = (plan.loc[ap, "quality"] <= 2).mean(), (plan.loc[~ap, "quality"] <= 2).mean()
    assert poor_ap > poor_pa + 0.05
    assert np.isclose(plan.loc[ap, "quality"].mean() - plan.loc[~ap, "quality"].mean(), -0.5, atol=0.25)
