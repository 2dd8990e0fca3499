"""`manage.py forgettability`: the paper's released layout and our stores -> every table, figure and
summary.json; every bad input is a CommandError naming the file and the mismatch. No test here
touches the database (none is marked django_db), so the command runs without web server or broker."""

import json
from io import StringIO
from math import comb

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from tests.analysis_tests.django_fixtures import (
    CLASSES,
    DATASET,
    N_TEST,
    SEEDS,
    SPARSITIES,
    write_paper_layout,
    write_stores,
)

TABLES = ["class_metrics", "overall", "forgettability", "class_summary", "fcd_pairs", "pies"]
FIGURES = ["fig1_overall", "fig2_curves", "fig3_frequency", "fig4_cooccurrence", "fig5_pies"]
CORRELATIONS = [
    "first_drop_20_vs_log_train_freq",
    "delta_ap_95_vs_log_train_freq",
    "fcd_vs_log_freq_diff_paper",
    "fcd_vs_iou_quarter_paper",
    "fcd_vs_log_freq_diff_standard",
    "fcd_vs_iou_quarter_standard",
]
FAST = ["--n-boot", "50", "--n-perm", "19"]


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("forgettability", *args, *FAST, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def paper_args(layout, out, *extra):
    return [
        "--prunecxr-preds",
        str(layout["preds"]),
        "--labels",
        str(layout["labels"]),
        "--dataset",
        DATASET,
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("paper")
    layout = write_paper_layout(root)
    stdout, stderr = run(*paper_args(layout, root / "out"))
    return {"out": root / "out", "stdout": stdout, "stderr": stderr}


@pytest.fixture
def layout(tmp_path):
    return write_paper_layout(tmp_path)


def test_paper_layout_writes_every_table_png_the_figure_data_and_the_summary(paper_run):
    out = paper_run["out"]
    for name in TABLES:
        assert (out / f"{name}.csv").stat().st_size > 0, name
    for name in FIGURES:
        assert (out / f"{name}.png").stat().st_size > 0, f"{name}.png"
        assert not (out / f"{name}.svg").exists() and not (out / f"{name}.pdf").exists(), "drawn on first download"
    assert (out / "summary.json").is_file() and (out / "figure_data.json").is_file()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "no temp files left behind"


def test_summary_has_every_correlation_with_the_right_n(paper_run):
    summary = json.loads((paper_run["out"] / "summary.json").read_text())
    assert sorted(summary["correlations"]) == sorted(CORRELATIONS)
    for key in CORRELATIONS:
        assert {"r", "r_p", "rho", "rho_p", "n"} <= set(summary["correlations"][key]), key
    classes = pd.read_csv(paper_run["out"] / "class_summary.csv")
    corr = summary["correlations"]
    assert corr["first_drop_20_vs_log_train_freq"]["n"] == classes["first_drop_20"].notna().sum() > 2
    assert corr["delta_ap_95_vs_log_train_freq"]["n"] == len(CLASSES)
    for key in CORRELATIONS[2:]:
        assert corr[key]["n"] == comb(len(CLASSES), 2), key
    assert corr["delta_ap_95_vs_log_train_freq"]["r"] > 0, "rare classes were made to lose more AP"
    assert summary["n_seeds"] == len(SEEDS) and summary["seeds"] == list(SEEDS)
    assert summary["sparsities"] == SPARSITIES.tolist(), "seeds and sparsities come from the file names"
    assert summary["n_images"] == N_TEST
    assert summary["n_pies"] == int(0.05 * N_TEST)
    assert 0 < summary["dense_map"] <= 1


def test_tables_cover_every_seed_sparsity_and_class_and_pies_carry_the_label_file_ids(paper_run):
    out = paper_run["out"]
    metrics = pd.read_csv(out / "class_metrics.csv")
    assert list(metrics.columns) == ["seed", "sparsity", "class", "auc", "ap", "f1"]
    assert len(metrics) == len(SEEDS) * len(SPARSITIES) * len(CLASSES)
    assert list(pd.read_csv(out / "overall.csv").columns) == ["seed", "sparsity", "mauc", "map", "mf1"]
    assert set(pd.read_csv(out / "class_summary.csv")["class"]) == set(CLASSES)
    pies = pd.read_csv(out / "pies.csv")
    assert len(pies) == N_TEST and pies["is_pie"].sum() == int(0.05 * N_TEST)
    assert pies["image_id"].iloc[0] == "img0000.png"


def test_progress_goes_to_stderr_and_a_summary_to_stdout(paper_run):
    assert "metrics" in paper_run["stderr"] and "100%" in paper_run["stderr"]
    assert "Wrote" in paper_run["stdout"] and "dense mAP" in paper_run["stdout"]


def test_two_datasets_in_one_run_give_each_its_own_report_under_out(paper_run, layout, tmp_path):
    # A second dataset: the same files under another name, in its own folders.
    other = "other-cxr-lt"
    for kind in ("preds", "labels"):
        (tmp_path / "other" / kind).mkdir(parents=True)
        for path in layout[kind].iterdir():
            (tmp_path / "other" / kind / path.name.replace(DATASET, other)).write_bytes(path.read_bytes())
    out = tmp_path / "both"
    run(
        *("--prunecxr-preds", str(layout["preds"]), str(tmp_path / "other" / "preds")),
        *("--labels", str(layout["labels"]), str(tmp_path / "other" / "labels")),
        *("--dataset", DATASET, other, "--out", str(out)),
    )
    single = pd.read_csv(paper_run["out"] / "class_metrics.csv")
    for name in (DATASET, other):
        assert json.loads((out / name / "summary.json").read_text())["experiment"] == name
        pd.testing.assert_frame_equal(pd.read_csv(out / name / "class_metrics.csv"), single)
    with pytest.raises(CommandError, match=r"--labels: give one folder, or one per --dataset \(3 for 2 datasets\)"):
        run(
            *("--prunecxr-preds", str(layout["preds"]), "--labels", "a", "b", "c", "--dataset", DATASET, other),
            "--out",
            str(out),
        )


def test_a_missing_sparsity_file_is_named(layout, tmp_path):
    (layout["preds"] / f"{DATASET}_resnet50_seed-1_prune-0.5.pkl").unlink()
    with pytest.raises(CommandError, match=r"seed 1 has no file for sparsity 0\.5.*seed-1_prune-0\.5\.pkl"):
        run(*paper_args(layout, tmp_path / "out"))


def test_class_columns_that_differ_between_files_name_the_file(layout, tmp_path):
    path = layout["preds"] / f"{DATASET}_resnet50_seed-1_prune-0.9.pkl"
    pd.read_pickle(path).rename(columns={"Hernia": "Hernia!"}).to_pickle(path)
    with pytest.raises(CommandError, match=r"seed-1_prune-0\.9\.pkl: class columns differ"):
        run(*paper_args(layout, tmp_path / "out"))


def test_class_columns_missing_from_the_labels_name_the_label_file_and_class(layout, tmp_path):
    path = layout["labels"] / f"miccai2023_{DATASET}_labels_test.csv"
    pd.read_csv(path).drop(columns=["Hernia"]).to_csv(path, index=False)
    with pytest.raises(CommandError, match=r"labels_test\.csv: class columns differ .*'Hernia'"):
        run(*paper_args(layout, tmp_path / "out"))


def test_a_label_file_of_another_length_names_the_file_and_both_lengths(layout, tmp_path):
    path = layout["labels"] / f"miccai2023_{DATASET}_labels_test.csv"
    pd.read_csv(path).iloc[:-1].to_csv(path, index=False)
    with pytest.raises(
        CommandError, match=rf"labels_test\.csv: {N_TEST - 1} label rows but the predictions have {N_TEST}"
    ):
        run(*paper_args(layout, tmp_path / "out"))


def test_labels_that_disagree_with_the_prediction_files_label_column_are_named(layout, tmp_path):
    path = layout["labels"] / f"miccai2023_{DATASET}_labels_test.csv"
    df = pd.read_csv(path)
    df.loc[5, "Nodule"] = 1 - df.loc[5, "Nodule"]
    df.to_csv(path, index=False)
    with pytest.raises(CommandError, match=r"labels_test\.csv: labels differ .* at row 5"):
        run(*paper_args(layout, tmp_path / "out"))


def test_a_missing_label_file_is_named(layout, tmp_path):
    (layout["labels"] / f"miccai2023_{DATASET}_labels_train.csv").unlink()
    with pytest.raises(CommandError, match=r"labels_train\.csv: label file not found"):
        run(*paper_args(layout, tmp_path / "out"))


def test_a_pie_sparsity_without_predictions_is_refused_with_the_ones_found(layout, tmp_path):
    with pytest.raises(CommandError, match=r"PIE sparsity 0\.8 is not among .*0\.95"):
        run(*paper_args(layout, tmp_path / "out", "--pie-sparsity", "0.8"))


def test_an_empty_predictions_folder_says_which_names_it_expects(tmp_path):
    (tmp_path / "preds").mkdir()
    (tmp_path / "labels").mkdir()
    layout = {"preds": tmp_path / "preds", "labels": tmp_path / "labels"}
    with pytest.raises(CommandError, match=r"no files named nih-cxr-lt_resnet50_seed-<s>_prune-<r>\.pkl"):
        run(*paper_args(layout, tmp_path / "out"))


def test_the_command_needs_exactly_one_source(tmp_path):
    with pytest.raises(CommandError, match="either --prunecxr-preds"):
        run("--out", str(tmp_path))
    with pytest.raises(CommandError, match="needs --labels"):
        run("--prunecxr-preds", str(tmp_path), "--out", str(tmp_path))
    with pytest.raises(CommandError, match="needs --dataset-spec"):
        run("--stores", "a.npz", "--out", str(tmp_path))


def test_our_stores_with_a_dataset_spec_give_the_report_and_hidden_truth_enrichment(tmp_path):
    stores = write_stores(tmp_path)
    out = tmp_path / "out"
    run(
        "--stores",
        *map(str, stores["paths"]),
        "--dataset-spec",
        json.dumps(stores["spec"]),
        "--out",
        str(out),
        "--formats",
        "png",
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == list(SEEDS), "seeds read from the seed-<s> folders"
    assert summary["n_pies"] == int(0.05 * N_TEST)
    assert summary["pie"]["hidden_truth"]["label_noise"]["test"].startswith("Fisher")
    assert (out / "fig5_pies.png").is_file() and not (out / "fig5_pies.pdf").exists()
    assert np.isclose(summary["correlations"]["delta_ap_95_vs_log_train_freq"]["n"], len(CLASSES))


def test_stores_whose_images_are_not_in_the_test_labels_name_the_label_file(tmp_path):
    stores = write_stores(tmp_path)
    labels = tmp_path / "data" / "labels_test.csv"
    df = pd.read_csv(labels)
    df.loc[3, "id"] = "someone-else.png"
    df.to_csv(labels, index=False)
    with pytest.raises(CommandError, match=r"labels_test\.csv: no label row for image id 'img0003\.png'"):
        run(
            "--stores",
            *map(str, stores["paths"]),
            "--dataset-spec",
            json.dumps(stores["spec"]),
            "--out",
            str(tmp_path / "out"),
        )


def test_a_dataset_spec_that_is_not_json_is_refused(tmp_path):
    stores = write_stores(tmp_path)
    with pytest.raises(CommandError, match="neither inline JSON nor an existing JSON file"):
        run("--stores", str(stores["paths"][0]), "--dataset-spec", "nope.json", "--out", str(tmp_path / "o"))


def test_an_unwritable_output_folder_is_a_clear_error_not_a_traceback(tmp_path):
    stores = write_stores(tmp_path)
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(CommandError, match=str(blocker)):
        run(
            "--stores",
            *map(str, stores["paths"]),
            "--dataset-spec",
            json.dumps(stores["spec"]),
            "--out",
            str(blocker / "report"),
            "--formats",
            "png",
        )
