"""Dataset loaders, validation messages and the decode-once image cache (pure engine, no Django)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pruning.engine import data, data_decode
from pruning.engine.data import (
    PAPER_CLASSES,
    Split,
    class_frequencies,
    decode_images,
    load_csv_dataset,
    load_paper_dataset,
    validate_splits,
)
from pruning.engine.errors import DatasetError

REPO = Path(__file__).resolve().parents[2]


def _png(path: Path, value: int = 100, shape=(40, 30), mode: str = "L") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.full(shape, value, dtype=np.uint8)
    a[:5] = 255 - value  # not constant, so resizing is tested too
    img = Image.fromarray(a) if mode == "L" else Image.fromarray(np.stack([a] * 3, -1))
    img.save(path)
    return path


def _write_paper(tmp_path: Path, name: str, n: int = 3, image_dir: str = "imgs") -> Path:
    """Paper-layout CSVs with class columns shuffled and extra metadata columns."""
    classes = PAPER_CLASSES[name]
    labels = tmp_path / "labels"
    labels.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for split in ("train", "val", "test"):
        rel = [f"{split}_{i}.png" if name == "nih-cxr-lt" else f"files/p1{i}/{split}_{i}.jpg" for i in range(n)]
        df = pd.DataFrame({"subj_id": range(n)})
        for c in rng.permutation(classes):  # file order differs from the paper order
            df[c] = 0
        df["No Finding"] = 1
        df.insert(0, "id" if name == "nih-cxr-lt" else "path", rel)
        df.to_csv(labels / f"miccai2023_{name}_labels_{split}.csv", index=False)
        for r in rel:
            _png(tmp_path / image_dir / r)
    return labels


def test_paper_nih_loader_reads_id_column_in_paper_class_order(tmp_path):
    labels = _write_paper(tmp_path, "nih-cxr-lt")
    splits = load_paper_dataset("nih-cxr-lt", labels, tmp_path / "imgs")
    train = splits["train"]
    assert train.class_names == PAPER_CLASSES["nih-cxr-lt"]
    assert len(train.class_names) == 20 and train.class_names[0] == "No Finding"
    assert train.ids == ["train_0.png", "train_1.png", "train_2.png"]
    assert train.paths[1] == tmp_path / "imgs" / "train_1.png"
    assert train.labels.dtype == np.uint8 and train.labels.shape == (3, 20)
    assert train.labels[:, 0].tolist() == [1, 1, 1] and train.labels[:, 1:].sum() == 0
    assert validate_splits(splits) == {"train": 3, "val": 3, "test": 3}


def test_paper_mimic_loader_joins_path_column_to_image_root(tmp_path):
    labels = _write_paper(tmp_path, "mimic-cxr-lt")
    splits = load_paper_dataset("mimic-cxr-lt", labels, tmp_path / "imgs")
    test = splits["test"]
    assert test.class_names == PAPER_CLASSES["mimic-cxr-lt"]
    assert len(test.class_names) == 19 and test.class_names[0] == "Support Devices"
    assert test.ids[0] == "files/p10/test_0.jpg"
    assert test.paths[0] == tmp_path / "imgs" / "files/p10/test_0.jpg"
    assert test.labels[:, test.class_names.index("No Finding")].tolist() == [1, 1, 1]
    validate_splits(splits)


def test_unknown_paper_dataset_lists_the_known_ones(tmp_path):
    with pytest.raises(DatasetError, match="chexpert.*nih-cxr-lt"):
        load_paper_dataset("chexpert", tmp_path, tmp_path)


def test_missing_label_file_is_named(tmp_path):
    labels = _write_paper(tmp_path, "nih-cxr-lt")
    (labels / "miccai2023_nih-cxr-lt_labels_val.csv").unlink()
    with pytest.raises(DatasetError, match=r"miccai2023_nih-cxr-lt_labels_val\.csv.*not found"):
        load_paper_dataset("nih-cxr-lt", labels, tmp_path / "imgs")


def test_missing_class_column_names_file_and_column(tmp_path):
    labels = _write_paper(tmp_path, "nih-cxr-lt")
    csv = labels / "miccai2023_nih-cxr-lt_labels_test.csv"
    pd.read_csv(csv).drop(columns=["Hernia"]).to_csv(csv, index=False)
    with pytest.raises(DatasetError, match=r"labels_test\.csv: missing class column\(s\) \['Hernia'\]"):
        load_paper_dataset("nih-cxr-lt", labels, tmp_path / "imgs")


def test_missing_id_column_names_file_and_column(tmp_path):
    labels = _write_paper(tmp_path, "nih-cxr-lt")
    csv = labels / "miccai2023_nih-cxr-lt_labels_train.csv"
    pd.read_csv(csv).rename(columns={"id": "image"}).to_csv(csv, index=False)
    with pytest.raises(DatasetError, match=r"labels_train\.csv: no id column 'id'"):
        load_paper_dataset("nih-cxr-lt", labels, tmp_path / "imgs")


def test_non_binary_label_names_file_line_column_and_value(tmp_path):
    labels = _write_paper(tmp_path, "nih-cxr-lt")
    csv = labels / "miccai2023_nih-cxr-lt_labels_val.csv"
    df = pd.read_csv(csv)
    df["Effusion"] = df["Effusion"].astype(object)
    df.loc[1, "Effusion"] = 2
    df.loc[2, "Effusion"] = "yes"
    df.to_csv(csv, index=False)
    with pytest.raises(DatasetError) as err:
        load_paper_dataset("nih-cxr-lt", labels, tmp_path / "imgs")
    msg = str(err.value)
    assert "labels_val.csv" in msg and "'Effusion'" in msg and "2 row(s)" in msg
    assert "line 3 (id 'val_1.png'): '2'" in msg  # header is line 1, first data row line 2
    assert "line 4 (id 'val_2.png'): 'yes'" in msg


def _split(name: str, ids: list[str], tmp_path: Path, labels=None, make_images: bool = True) -> Split:
    paths = [tmp_path / "i" / f"{i}.png" for i in ids]
    if make_images:
        for p in paths:
            _png(p)
    lab = np.zeros((len(ids), 2), np.uint8) if labels is None else np.asarray(labels, np.uint8)
    return Split(name, ids, paths, lab, ["A", "B"], source=tmp_path / f"{name}.csv")


def _three(tmp_path, **overrides) -> dict[str, Split]:
    splits = {
        "train": _split("train", ["a", "b"], tmp_path),
        "val": _split("val", ["c"], tmp_path),
        "test": _split("test", ["d"], tmp_path),
    }
    splits.update(overrides)
    return splits


def test_empty_split_is_reported_with_its_file(tmp_path):
    splits = _three(tmp_path, val=_split("val", [], tmp_path))
    with pytest.raises(DatasetError, match=r"split 'val' \(.*val\.csv\) is empty"):
        validate_splits(splits)


def test_non_binary_label_array_names_row_and_column(tmp_path):
    splits = _three(tmp_path, test=_split("test", ["d"], tmp_path, labels=[[0, 3]]))
    with pytest.raises(DatasetError, match=r"test\.csv line 2 \(id 'd'\) column 'B': 3"):
        validate_splits(splits)


def test_duplicate_ids_within_and_across_splits_are_named(tmp_path):
    with pytest.raises(DatasetError, match=r"duplicate id 'a' at .*line 2.* and .*line 3"):
        validate_splits(_three(tmp_path, train=_split("train", ["a", "a"], tmp_path)))
    with pytest.raises(DatasetError, match=r"id 'a' is in both split 'train' and .*test\.csv line 2"):
        validate_splits(_three(tmp_path, test=_split("test", ["a"], tmp_path)))


def test_missing_and_unreadable_images_are_listed_with_a_count(tmp_path):
    ids = [f"m{i}" for i in range(12)]
    train = _split("train", ["a", *ids], tmp_path, make_images=False)
    _png(train.paths[0])
    bad = _split("val", ["bad"], tmp_path)
    bad.paths[0].write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(DatasetError) as err:
        validate_splits(_three(tmp_path, train=train, val=bad))
    msg = str(err.value)
    assert msg.startswith("13 of 15 images missing or unreadable")
    assert "train.csv line 3 (id 'm0')" in msg and "m0.png: missing" in msg
    assert "... and 3 more" in msg  # 10 shown
    validate_splits(_three(tmp_path, train=train, val=bad), check_images=False)  # cheap mode


def test_generic_csv_infers_numeric_class_columns_and_skips_ids_and_text(tmp_path):
    for s in ("train", "val", "test"):
        pd.DataFrame({"image": [f"{s}.png"], "Patient ID": [7], "sex": ["F"], "Zeta": [1], "Alpha": [0]}).to_csv(
            tmp_path / f"{s}.csv", index=False
        )
        _png(tmp_path / "im" / f"{s}.png")
    csvs = {s: tmp_path / f"{s}.csv" for s in ("train", "val", "test")}
    splits = load_csv_dataset(csvs, tmp_path / "im", "image")
    assert splits["val"].class_names == ["Zeta", "Alpha"]  # file order, not sorted
    assert splits["val"].labels.tolist() == [[1, 0]]
    validate_splits(splits)


def test_class_inference_skips_id_like_names_but_not_words_ending_in_id():
    assert [data._is_id_like(c) for c in ("id", "subj_id", "Patient ID", "PatientID")] == [True] * 4
    assert [data._is_id_like(c) for c in ("Fluid", "Lipid", "Hernia")] == [False] * 3


def test_generic_csv_path_column_points_at_the_image(tmp_path):
    for s in ("train", "val", "test"):
        pd.DataFrame({"key": [s], "file": [f"sub/{s}.png"], "A": [1]}).to_csv(tmp_path / f"{s}.csv", index=False)
    csvs = {s: tmp_path / f"{s}.csv" for s in ("train", "val", "test")}
    splits = load_csv_dataset(csvs, tmp_path / "root", "key", ["A"], path_column="file")
    assert splits["train"].ids == ["train"]
    assert splits["train"].paths == [tmp_path / "root" / "sub" / "train.png"]


def test_decode_images_gives_uint8_grayscale_squares(tmp_path):
    p1 = _png(tmp_path / "a.png", 100, (60, 40))
    p2 = _png(tmp_path / "b.png", 50, (30, 30), mode="RGB")
    p3 = tmp_path / "c.png"
    Image.fromarray(np.array([[0, 4095], [4095, 0]], dtype=np.uint16)).save(p3)  # 12-bit in 16
    out = decode_images([p1, p2, p3], 16)
    assert out.shape == (3, 16, 16) and out.dtype == np.uint8
    assert out[0, -1, -1] == 100 and out[1, -1, -1] == 50
    assert out[2].min() < 64 and out[2].max() > 192  # stretched, not a black image


def test_decode_cache_is_reused_without_decoding_again(tmp_path, monkeypatch):
    paths = [_png(tmp_path / f"{i}.png", 10 * i) for i in range(5)]
    first = decode_images(paths, 8, cache_dir=tmp_path / "cache")
    files = list((tmp_path / "cache").glob("*.npy"))
    assert len(files) == 1 and not list((tmp_path / "cache").glob("*.tmp"))
    mtime = files[0].stat().st_mtime_ns

    def no_decoding(path, size):
        raise AssertionError("decoded again")

    monkeypatch.setattr(data_decode, "decode_one", no_decoding)
    second = decode_images(paths, 8, cache_dir=tmp_path / "cache")
    assert np.array_equal(first, second)
    assert files[0].stat().st_mtime_ns == mtime
    with pytest.raises(AssertionError, match="decoded again"):
        decode_images(paths, 12, cache_dir=tmp_path / "cache")  # another size: another key


def test_decode_cache_key_changes_when_an_image_changes(tmp_path):
    p = _png(tmp_path / "a.png", 10)
    key = data_decode.cache_key([p], 8)
    _png(p, 200, (41, 30))
    assert data_decode.cache_key([p], 8) != key


def test_decode_names_a_missing_image(tmp_path):
    with pytest.raises(DatasetError, match="nope.png"):
        decode_images([tmp_path / "nope.png"], 8, cache_dir=tmp_path)


def test_class_frequencies_counts_positives_per_class(tmp_path):
    split = _split("train", ["a", "b", "c"], tmp_path, labels=[[1, 0], [1, 1], [0, 0]])
    assert class_frequencies(split).to_dict() == {"A": 2, "B": 1}


def test_engine_data_modules_do_not_import_django():
    code = "import pruning.engine.data, pruning.engine.synthetic, sys; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
    assert data.SPLITS == ("train", "val", "test")
