"""manage.py mrmc, study_size and perception_stats --mrmc: files written, published numbers, clear refusals."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from analysis.core.perception.simulate import simulated_tidy

VANDYKE = Path(__file__).parent / "data" / "vandyke.csv"


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_mrmc_command_writes_the_published_van_dyke_analysis(tmp_path):
    text = run("mrmc", "--csv", str(VANDYKE), "--out", str(tmp_path))
    res = json.loads((tmp_path / "mrmc.json").read_text())
    assert res["random_readers"]["F"] == pytest.approx(4.484854, abs=5e-7)
    assert res["random_readers"]["ddf"] == pytest.approx(15.06611, abs=5e-6)
    assert res["cov2"] == pytest.approx(0.0003395265, abs=5e-11)
    assert [m["auc"] for m in res["modality"]] == [
        pytest.approx(0.8970370, abs=5e-8),
        pytest.approx(0.9408374, abs=5e-8),
    ]
    assert "F = 4.48485, df1 = 1, ddf = 15.0661, p = 0.051233" in text
    jack = run("mrmc", "--csv", str(VANDYKE), "--out", str(tmp_path), "--cov", "jackknife")
    assert "p = 0.0516657" in jack


def test_mrmc_command_with_one_reader_says_what_cannot_be_estimated(tmp_path):
    rows = VANDYKE.read_text().splitlines()
    one = [rows[0]] + [r for r in rows[1:] if r.startswith("1,")]
    (tmp_path / "one.csv").write_text("\n".join(one) + "\n")
    text = run("mrmc", "--csv", str(tmp_path / "one.csv"), "--out", str(tmp_path))
    assert "not estimable: one reader" in text
    res = json.loads((tmp_path / "mrmc.json").read_text())
    assert res["random_readers"] == {} and res["fixed_readers"]["p"] > 0


def test_mrmc_command_refuses_a_bad_csv_naming_the_row(tmp_path):
    (tmp_path / "bad.csv").write_text("reader,modality,case,truth,rating\n1,A,1,1,5\n1,A,2,maybe,3\n")
    with pytest.raises(CommandError, match=r"Column 'truth' must be 1/0.*row\(s\) 3"):
        run("mrmc", "--csv", str(tmp_path / "bad.csv"), "--out", str(tmp_path))
    with pytest.raises(CommandError, match="Cannot read"):
        run("mrmc", "--csv", str(tmp_path / "missing.csv"), "--out", str(tmp_path))


def test_study_size_command_is_reproducible_and_writes_the_grid(tmp_path):
    args = ["study_size", "--readers", "2,4", "--cases", "10,20", "--n-sim", "12", "--seed", "5"]
    first = run(*args, "--out", str(tmp_path / "a"))
    run(*args, "--out", str(tmp_path / "b"))
    a, b = (json.loads((tmp_path / x / "sizing.json").read_text()) for x in ("a", "b"))
    assert a["grid"] == b["grid"] and len(a["grid"]) == 8
    assert (tmp_path / "a" / "sizing_grid.csv").read_text().startswith("analysis,readers,cases,readings,power")
    assert "seed 5" in first or "No design in the grid reaches" in first


def test_study_size_from_a_pilot_csv_takes_the_published_odds_ratio_and_typed_values_override(tmp_path):
    simulated_tidy(4, 40, seed=3).to_csv(tmp_path / "pilot.csv", index=False)
    args = ["study_size", "--pilot-csv", str(tmp_path / "pilot.csv"), "--question", "difficulty"]
    args += ["--analysis", "pie", "--readers", "3", "--cases", "20", "--n-sim", "5", "--effect", "0.9"]
    run(*args, "--out", str(tmp_path))
    res = json.loads((tmp_path / "sizing.json").read_text())
    assert res["request"]["pie"]["effect"] == 0.9  # typed
    assert res["pilot"]["n_readers"] == 4 and res["request"]["pie"]["scale"] == 5  # from the pilot
    assert res["pilot"]["log_or"] > 0  # difficulty: PIEs planted harder
    assert "two-way (reader and case) cluster-robust Wald" in res["pie_test"]
    with pytest.raises(CommandError, match="no analysed question 'nope'"):
        run("study_size", "--pilot-csv", str(tmp_path / "pilot.csv"), "--question", "nope", "--analysis", "pie")


def test_perception_stats_with_mrmc_writes_the_vgc_analysis(tmp_path):
    simulated_tidy(3, 20, seed=3, questions=("difficulty",)).to_csv(tmp_path / "tidy.csv", index=False)
    text = run(
        "perception_stats",
        "--csv",
        str(tmp_path / "tidy.csv"),
        "--out",
        str(tmp_path / "out"),
        "--fast",
        "--formats",
        "png",
        "--mrmc",
    )
    res = json.loads((tmp_path / "out" / "mrmc_vgc.json").read_text())
    assert [r["question"] for r in res["rows"]] == ["difficulty"] and res["rows"][0]["n_readers"] == 3
    assert "difficulty: VGC AUC" in text
