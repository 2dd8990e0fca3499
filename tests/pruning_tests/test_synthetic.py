"""Synthetic CXR-LT: layout, patient split, determinism, hidden truth, visible signatures."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import ndimage

from pruning.engine.data import load_synthetic, validate_splits
from pruning.engine.synthetic import main, make_synthetic, render_one
from pruning.engine.synthetic_findings import FINDINGS
from pruning.engine.synthetic_labels import BLUR_MAX, CLASSES, nih_table_path, sample_plan, split_by_patient

CLEAN = {"noise_sigma": 0.0, "blur_sigma": 0.0, "exposure": 1.0, "contrast": 1.0}


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("syn")
    summary = make_synthetic(out, 60, size=64, seed=3)
    return out, summary


def test_make_synthetic_writes_the_documented_layout(small_set):
    out, summary = small_set
    assert sorted(p.name for p in out.iterdir()) == [
        "dataset.json", "hidden_truth.csv", "images", "labels_test.csv", "labels_train.csv", "labels_val.csv",
        "metadata.csv",
    ]  # fmt: skip
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["classes"] == CLASSES and len(CLASSES) == 15 and meta["size"] == 64 and meta["seed"] == 3
    assert sum(meta["n"].values()) == 60 == len(list((out / "images").glob("*.png")))
    labels = pd.read_csv(out / "labels_train.csv")
    assert list(labels.columns) == ["id", "patient_id", *CLASSES]  # no hidden truth in label files
    img = Image.open(out / "images" / f"{labels.id[0]}.png")
    assert img.mode == "L" and img.size == (64, 64) and not img.info
    assert summary["n"] == meta["n"]


def test_label_vectors_come_from_the_real_nih_table():
    if nih_table_path() is None:
        pytest.skip("torchxrayvision's NIH table is not installed")
    plan, source = sample_plan(500, seed=0)
    assert "Data_Entry_2017" in source
    assert plan["source_image"].str.fullmatch(r"\d{8}_\d{3}\.png").all()
    rate = plan["true_No Finding"].mean()
    assert 0.45 < rate < 0.63  # 53.8% of the real table has no finding


def test_split_is_by_patient_without_overlap(small_set):
    out, _ = small_set
    truth = pd.read_csv(out / "hidden_truth.csv")
    patients = {s: set(truth.patient_id[truth.split == s]) for s in ("train", "val", "test")}
    assert not patients["train"] & patients["val"]
    assert not patients["train"] & patients["test"]
    assert not patients["val"] & patients["test"]
    for s in ("train", "val", "test"):
        assert set(pd.read_csv(out / f"labels_{s}.csv").id) == set(truth.id[truth.split == s])


def test_split_by_patient_keeps_every_image_of_a_patient_together():
    patients = np.repeat(np.arange(40), np.arange(40) % 4 + 1)  # 1..4 images per patient
    splits = split_by_patient(patients, (0.7, 0.1, 0.2), np.random.default_rng(0))
    frame = pd.DataFrame({"p": patients, "s": splits})
    assert (frame.groupby("p").s.nunique() == 1).all()
    share = frame.s.value_counts(normalize=True)
    assert abs(share["train"] - 0.7) < 0.08 and abs(share["test"] - 0.2) < 0.08


def _all_bytes(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path):
    make_synthetic(tmp_path / "a", 24, size=48, seed=11)
    make_synthetic(tmp_path / "b", 24, size=48, seed=11, workers=2)  # worker count must not matter
    make_synthetic(tmp_path / "c", 24, size=48, seed=12)
    a, b, c = (_all_bytes(tmp_path / x) for x in "abc")
    assert a == b
    assert a["labels_train.csv"] != c["labels_train.csv"]


def test_label_noise_flag_marks_exactly_the_rows_whose_labels_differ_from_truth():
    plan, _ = sample_plan(400, seed=5, noise_rate=0.3)
    noisy = plan[CLASSES].to_numpy()
    true = plan[[f"true_{c}" for c in CLASSES]].to_numpy()
    changed = (noisy[:, 1:] != true[:, 1:]).sum(axis=1)  # findings only ("No Finding" follows)
    flag = plan["label_noise"].to_numpy().astype(bool)
    assert flag.sum() > 60
    assert (changed[flag] == 1).all() and (changed[~flag] == 0).all()
    assert (noisy[:, 0] == (noisy[:, 1:].sum(axis=1) == 0)).all()  # "No Finding" stays consistent
    kinds = plan.loc[flag, "noise_kind"]
    assert set(kinds) == {"missing", "added"}
    bad = plan["quality"] <= 2
    assert plan.loc[bad, "label_noise"].mean() > plan.loc[~bad, "label_noise"].mean()


def test_hidden_truth_quality_and_subtlety_are_scores_1_to_5(small_set):
    truth = pd.read_csv(small_set[0] / "hidden_truth.csv")
    assert truth.quality.between(1, 5).all() and truth.subtlety.between(1, 5).all()
    assert {"noise_sigma", "blur_sigma", "exposure", "contrast", "strength", "label_noise"} <= set(truth)


def test_load_synthetic_round_trips_and_validates(small_set):
    out, _ = small_set
    splits = load_synthetic(out)
    counts = validate_splits(splits)
    assert counts == json.loads((out / "dataset.json").read_text())["n"]
    train = splits["train"]
    csv = pd.read_csv(out / "labels_train.csv")
    assert train.class_names == CLASSES and np.array_equal(train.labels, csv[CLASSES].to_numpy())
    assert train.paths[0] == out / "images" / f"{csv.id[0]}.png"


@pytest.mark.parametrize("lung_masks", [True, False], ids=["real-lungs", "drawn-lungs"])
@pytest.mark.parametrize("finding", FINDINGS)
def test_every_finding_leaves_a_visible_signature(finding, lung_masks):
    # same seed = same patient; only the finding differs
    normal = render_one([], size=96, seed=4, quality=CLEAN, lung_masks=lung_masks).astype(float)
    sick = render_one([finding], size=96, seed=4, quality=CLEAN, lung_masks=lung_masks).astype(float)
    changed = np.abs(sick - normal) > 8  # grey levels
    assert changed.sum() >= 10, f"{finding} changed only {changed.sum()} pixels"


def test_render_one_rejects_unknown_findings():
    with pytest.raises(ValueError, match="Pneumonitis"):
        render_one(["Pneumonitis"], size=64)


def test_cli_renders_a_small_set(tmp_path, capsys):
    summary = main(["--out", str(tmp_path), "--n", "12", "--size", "40", "--seed", "1", "--procedural-lungs"])
    assert summary["lung_shapes"] == "procedural"
    assert len(list((tmp_path / "images").glob("*.png"))) == 12
    assert '"seed": 1' in capsys.readouterr().out


def test_label_noise_follows_the_pixel_level_causes_poor_quality_and_subtle_findings():
    # The mechanism the module docstring documents: noise probability is weighted by poor quality
    # (x3) and subtlety (x2), the same hidden variables that degrade the pixels. No pixels needed.
    plan, _ = sample_plan(20000, seed=5, noise_rate=0.05)
    poor, subtle, noisy = plan["quality"] <= 2, plan["subtlety"] >= 4, plan["label_noise"].astype(bool)
    clean_rate = noisy[~poor & ~subtle].mean()
    assert noisy[poor & ~subtle].mean() == pytest.approx(3 * clean_rate, rel=0.25)
    assert noisy[~poor & subtle].mean() == pytest.approx(2 * clean_rate, rel=0.25)
    assert noisy.mean() == pytest.approx(0.05, rel=0.15)


@pytest.mark.parametrize("finding", ["Effusion", "Mass", "Cardiomegaly"])
def test_a_subtle_finding_changes_fewer_pixels_than_an_obvious_one(finding):
    normal = render_one([], size=96, seed=4, quality=CLEAN).astype(float)
    faint = render_one([finding], size=96, seed=4, quality=CLEAN, strength=0.3).astype(float)
    clear = render_one([finding], size=96, seed=4, quality=CLEAN, strength=1.0).astype(float)
    assert np.abs(faint - normal).sum() < 0.8 * np.abs(clear - normal).sum()


def test_poor_quality_degrades_the_pixels():
    # the worst noise and blur of the hidden quality model (blur is given at 512 px and scales with size)
    good = render_one(["Nodule"], size=256, seed=4, quality=CLEAN).astype(float)
    poor = render_one(["Nodule"], size=256, seed=4, quality={**CLEAN, "noise_sigma": 0.06}).astype(float)
    blurred = render_one(["Nodule"], size=256, seed=4, quality={**CLEAN, "blur_sigma": BLUR_MAX}).astype(float)
    assert np.std(poor - good) > 6  # grey levels of added noise (grain on a 128 px grid: smoother at 256 px)
    fine_detail = [np.abs(ndimage.laplace(img)).mean() for img in (blurred, good)]
    assert fine_detail[0] < 0.6 * fine_detail[1]
