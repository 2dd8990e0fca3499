import numpy as np
import pandas as pd
import pytest

from pruning.engine.prunecxr import (
    export_prunecxr,
    import_prunecxr,
    prunecxr_filename,
    prunecxr_labels,
    prunecxr_seeds,
)
from pruning.engine.store import PredictionSet

CLASSES = ["No Finding", "Effusion", "Hernia"]
SPARSITIES = np.arange(0, 100, 5) / 100  # the paper's ratios


def make_sets(n_seeds=2, n=6):
    rng = np.random.default_rng(0)
    ids = [str(i) for i in range(n)]
    return [PredictionSet(rng.random((20, n, 3), dtype=np.float32), SPARSITIES, ids, CLASSES) for _ in range(n_seeds)]


def labels(n=6):
    y = np.zeros((n, 3), dtype=np.uint8)
    y[0, 0] = y[1, 1] = y[1, 2] = y[2, 2] = 1
    return y


def test_file_names_follow_the_papers_layout():
    assert prunecxr_filename("nih-cxr-lt", 0, 0.0) == "nih-cxr-lt_resnet50_seed-0_prune-0.pkl"
    assert prunecxr_filename("nih-cxr-lt", 3, 0.45) == "nih-cxr-lt_resnet50_seed-3_prune-0.45.pkl"
    assert prunecxr_filename("mimic-cxr-lt", 1, 0.15000000000000002) == "mimic-cxr-lt_resnet50_seed-1_prune-0.15.pkl"
    # The paper formats its ratios (np.arange(0, 100, 5) / 100) with str(); every one must agree.
    for r in SPARSITIES[1:]:
        assert prunecxr_filename("nih-cxr-lt", 0, r).endswith(f"_prune-{r}.pkl")


def test_export_then_import_round_trips_predictions_exactly(tmp_path):
    sets = make_sets()
    written = export_prunecxr(sets, "nih-cxr-lt", tmp_path, labels())
    assert len(written) == 40
    back = import_prunecxr(tmp_path, "nih-cxr-lt")
    assert len(back) == 2
    for a, b in zip(sets, back, strict=True):
        np.testing.assert_array_equal(a.probs, b.probs)
        np.testing.assert_allclose(a.sparsities, b.sparsities)
        assert b.class_names == CLASSES and b.image_ids == a.image_ids and b.complete


def test_exported_frames_have_class_columns_and_a_pipe_joined_label_column(tmp_path):
    export_prunecxr(make_sets(1), "nih-cxr-lt", tmp_path, labels())
    df = pd.read_pickle(tmp_path / "nih-cxr-lt_resnet50_seed-0_prune-0.9.pkl")
    assert list(df.columns) == [*CLASSES, "label"]
    assert isinstance(df.index, pd.RangeIndex)
    assert df["label"].tolist()[:4] == ["No Finding", "Effusion|Hernia", "Hernia", ""]
    y, classes = prunecxr_labels(tmp_path / "nih-cxr-lt_resnet50_seed-0_prune-0.pkl")
    assert classes == CLASSES and np.array_equal(y, labels())


def test_import_reads_frames_built_like_the_papers_evaluate_prune(tmp_path):
    probs = np.array([[0.9, 0.1, 0.2], [0.3, 0.8, 0.7]], dtype=np.float32)
    for seed in (0, 1):
        for r in (0, 0.9):
            df = pd.DataFrame(probs * (1 - r / 2), columns=CLASSES)
            df["label"] = ["No Finding", "Effusion|Hernia"]
            df.to_pickle(tmp_path / f"nih-cxr-lt_resnet50_seed-{seed}_prune-{r}.pkl")
    pd.DataFrame(probs, columns=CLASSES).to_pickle(tmp_path / "nih-cxr-lt_resnet50_seed-0_prune-0_val.pkl")
    sets = import_prunecxr(tmp_path, "nih-cxr-lt", image_ids=["a.png", "b.png"])
    assert prunecxr_seeds(tmp_path, "nih-cxr-lt") == [0, 1]
    assert sets[1].sparsities.tolist() == [0.0, 0.9]
    assert sets[0].image_ids == ["a.png", "b.png"]
    np.testing.assert_allclose(sets[0].probs[1], probs * 0.55, rtol=1e-6)


def test_a_seed_missing_a_sparsity_is_an_error_naming_the_seed_and_file(tmp_path):
    export_prunecxr(make_sets(), "nih-cxr-lt", tmp_path, labels())
    (tmp_path / "nih-cxr-lt_resnet50_seed-1_prune-0.35.pkl").unlink()
    with pytest.raises(ValueError, match=r"seed 1 has no file for sparsity 0.35 \(expected nih-cxr-lt_resnet50_seed-1"):
        import_prunecxr(tmp_path, "nih-cxr-lt")


def test_class_columns_that_differ_are_an_error_naming_the_file(tmp_path):
    export_prunecxr(make_sets(), "nih-cxr-lt", tmp_path, labels())
    path = tmp_path / "nih-cxr-lt_resnet50_seed-1_prune-0.5.pkl"
    pd.read_pickle(path).rename(columns={"Hernia": "Mass"}).to_pickle(path)
    with pytest.raises(
        ValueError, match=r"seed-1_prune-0.5.pkl: class columns differ .*extra \['Mass'\], missing \['Hernia'\]"
    ):
        import_prunecxr(tmp_path, "nih-cxr-lt")


def test_a_folder_without_matching_files_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no files named mimic-cxr-lt_resnet50"):
        import_prunecxr(tmp_path, "mimic-cxr-lt")


def test_export_refuses_labels_of_another_shape(tmp_path):
    with pytest.raises(ValueError, match=r"labels shape \(5, 3\)"):
        export_prunecxr(make_sets(1), "nih-cxr-lt", tmp_path, labels(5))
