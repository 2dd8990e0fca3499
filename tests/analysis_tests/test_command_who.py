"""`manage.py forgettability` gains the "who is forgotten" sections: metadata from --metadata, the NIH
table for NIH-CXR-LT, subgroup/calibration/uncertainty CSVs and figures, and sentences on stdout."""

import json
import re
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from tests.analysis_tests.django_fixtures import N_TEST, write_paper_layout, write_stores

WHO_TABLES = [
    "metadata", "subgroup_metrics", "underdiagnosis", "subgroup_gaps", "pie_subgroups", "calibration",
    "calibration_classes", "reliability", "risk_coverage", "aurc_head_tail", "uncertainty_auroc", "uncertainty_images",
]  # fmt: skip
WHO_FIGURES = ["fig_subgroups", "fig_calibration", "fig_risk_coverage", "fig_uncertainty"]
FAST = ["--n-boot", "50", "--n-perm", "19", "--n-boot-who", "50", "--n-boot-pies", "3", "--no-progress"]


def _metadata(path, ages=None):
    rng = np.random.default_rng(0)
    ids = [f"img{i:04d}.png" for i in range(N_TEST)]
    df = pd.DataFrame(
        {
            "image_id": ids,
            "patient_id": [f"p{i // 2}" for i in range(N_TEST)],
            "sex": rng.choice(["M", "F", ""], N_TEST, p=[0.5, 0.45, 0.05]),
            "age": ages if ages is not None else rng.integers(18, 90, N_TEST),
            "view": rng.choice(["PA", "AP"], N_TEST),
        }
    )
    df.to_csv(path, index=False)
    return path


def _run(tmp_path, *extra):
    stores = write_stores(tmp_path)
    out, err = StringIO(), StringIO()
    args = ["--stores", *map(str, stores["paths"]), "--dataset-spec", json.dumps(stores["spec"])]
    call_command("forgettability", *args, "--out", str(tmp_path / "out"), *FAST, *extra, stdout=out, stderr=err)
    return tmp_path / "out", out.getvalue()


def test_stores_with_a_metadata_csv_write_every_section_table_and_figure(tmp_path):
    out, stdout = _run(tmp_path, "--metadata", str(_metadata(tmp_path / "meta.csv")))
    for name in WHO_TABLES:
        assert (out / f"{name}.csv").stat().st_size > 0, name
    for name in WHO_FIGURES:
        assert (out / f"{name}.png").stat().st_size > 0, name
    gaps = pd.read_csv(out / "subgroup_gaps.csv")
    assert set(gaps["attribute"]) == {"sex", "age_band", "view"}
    who = json.loads((out / "summary.json").read_text())["who"]
    assert who["attributes"]["sex"] > 0 and who["subgroups"]["sentences"]
    for section in ("Subgroups:", "Calibration:", "Uncertainty:"):
        assert section in stdout
    assert not re.search(r"\bnan\b", stdout, re.IGNORECASE)
    assert "underdiagnosis rate" in stdout and "ECE" in stdout and "PIE predictor" in stdout


def test_age_given_as_text_is_a_command_error_naming_the_line(tmp_path):
    ages = ["40"] * N_TEST
    ages[5] = "old"
    with pytest.raises(CommandError, match=r"meta\.csv line 7 \(image 'img0005\.png'\): age 'old'"):
        _run(tmp_path, "--metadata", str(_metadata(tmp_path / "meta.csv", ages)))


def test_without_metadata_the_subgroup_section_says_so_and_the_others_remain(tmp_path):
    out, stdout = _run(tmp_path)
    assert "No subgroup attribute is available for these images." in stdout
    assert pd.read_csv(out / "calibration.csv").shape[0] == 4  # one row per level
    assert (out / "fig_calibration.png").is_file()


def test_paper_layout_streams_the_sections_and_matches_the_stores_path(tmp_path):
    layout = write_paper_layout(tmp_path / "paper")
    meta = _metadata(tmp_path / "meta.csv")
    out = tmp_path / "paper_out"
    call_command(
        "forgettability", "--prunecxr-preds", str(layout["preds"]), "--labels", str(layout["labels"]),
        "--dataset", "nih-cxr-lt", "--metadata", str(meta), "--out", str(out), *FAST, stdout=StringIO(),
    )  # fmt: skip
    stores_out, _ = _run(tmp_path / "stores", "--metadata", str(meta))  # the same predictions, not streamed
    for name in ("calibration", "subgroup_metrics", "underdiagnosis", "subgroup_gaps", "uncertainty_auroc"):
        streamed, stacked = pd.read_csv(out / f"{name}.csv"), pd.read_csv(stores_out / f"{name}.csv")
        pd.testing.assert_frame_equal(streamed, stacked, check_exact=False, rtol=1e-12, atol=1e-12)
    assert pd.read_csv(out / "subgroup_metrics.csv")["auc"].notna().any()
    unc = pd.read_csv(out / "uncertainty_auroc.csv").set_index("measure")
    assert np.isfinite(unc.loc["disagreement", "auroc"])  # two seeds streamed: disagreement exists
