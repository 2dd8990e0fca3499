"""compute_report end to end on a small synthetic sweep: every file, column and statistic."""

import json

import numpy as np
import pandas as pd
import pytest

from analysis.core.report import FIGURE_NAMES, ReportInputError, compute_report

SPARSITIES = np.array([0.0, 0.3, 0.6, 0.8, 0.95])
NAMES = ["No Finding", "Effusion", "Mass", "Nodule", "Hernia"]


def synthetic(n=240, seeds=3, sparsities=SPARSITIES, seed=0):
    rng = np.random.default_rng(seed)
    prev = np.array([0.4, 0.25, 0.12, 0.06, 0.03])
    y = (rng.random((n, 5)) < prev).astype(np.uint8)
    y[0] = 1  # every class has a positive
    s = np.asarray(sparsities)[None, :, None, None]
    signal = (2.0 * y - 1)[None, None] * (1 - s) ** (1 + 4 * (1 - prev))[None, None, None, :]
    z = signal + rng.normal(scale=0.7, size=(seeds, len(sparsities), n, 5))
    probs = (1 / (1 + np.exp(-2 * z))).astype(np.float32)
    train = (rng.random((2000, 5)) < prev).astype(np.uint8)
    ids = [f"img{i:03d}" for i in range(n)]
    corr = rng.random(n)
    pie_table = pd.DataFrame(
        {
            "image_index": np.arange(n),
            "image_id": ids,
            "correlation": corr,
            "rank": corr.argsort().argsort(),
            "is_pie": corr.argsort().argsort() < n // 20,
        }
    )
    pie_table.attrs = {"n_pies": n // 20, "tie_group_size": 1}
    truth = pd.DataFrame({"image_id": ids[::-1], "label_noise": rng.random(n) < 0.2, "quality": rng.integers(1, 6, n)})
    return probs, y, train, ids, pie_table, truth


def run(**kw):
    probs, y, train, ids, pie_table, truth = synthetic()
    args = {
        "pie_table": pie_table,
        "hidden_truth": truth,
        "image_ids": ids,
        "seeds": [5, 6, 7],
        "n_boot": 100,
        "n_perm": 49,
        "experiment": "synthetic",
    } | kw
    return compute_report(probs, y, train, SPARSITIES, NAMES, **args)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    weights = [np.random.default_rng(0).normal(size=(8, 3, 3, 3)), np.ones((5, 4))]
    calls = []
    report = run(weights=weights, progress=lambda d, t, m: calls.append((d, t, m)))
    report.write(out, formats=("png", "svg", "pdf"))
    return report, out, calls


def test_report_writes_every_table_summary_and_figure(written):
    report, out, _ = written
    tables = ["class_metrics", "overall", "forgettability", "class_summary", "fcd_pairs", "pies", *report.who.tables]
    expected = {f"{t}.csv" for t in tables} | {"summary.json"}
    expected |= {f"{f}.{ext}" for f in FIGURE_NAMES for ext in ("png", "svg", "pdf")} | {"figure_data.json"}
    assert {p.name for p in out.iterdir()} == expected


def test_csv_columns_are_the_documented_ones(written):
    _, out, _ = written
    cols = {
        name: list(pd.read_csv(out / f"{name}.csv").columns)
        for name in ["class_metrics", "overall", "forgettability", "class_summary", "fcd_pairs", "pies"]
    }
    assert cols["class_metrics"] == ["seed", "sparsity", "class", "auc", "ap", "f1"]
    assert cols["overall"] == ["seed", "sparsity", "mauc", "map", "mf1"]
    assert cols["forgettability"] == ["class", "sparsity", "median_rel_change_ap", "median_rel_change_auc"]
    assert cols["class_summary"] == ["class", "train_freq", "test_freq", "first_drop_20", "delta_ap_95", "estimable"]
    assert cols["fcd_pairs"][:6] == ["class_a", "class_b", "fcd", "log_freq_diff", "iou_paper", "iou_standard"]
    assert cols["pies"][:4] == ["image_index", "image_id", "correlation", "is_pie"]


def test_summary_has_every_correlation_with_p_values_and_cis(written):
    report, out, _ = written
    summary = json.loads((out / "summary.json").read_text())
    keys = {"first_drop_20_vs_log_train_freq", "delta_ap_95_vs_log_train_freq"} | {
        f"fcd_vs_{s}_{d}" for s in ("log_freq_diff", "iou_quarter") for d in ("paper", "standard")
    }
    assert set(summary["correlations"]) == keys
    for c in summary["correlations"].values():
        assert {"r", "r_p", "rho", "rho_p", "n", "r_ci", "rho_ci"} <= set(c)
    assert summary["correlations"]["fcd_vs_iou_quarter_paper"]["n"] == 10
    assert summary["n_pies"] == 12 and summary["seeds"] == [5, 6, 7]
    dense = report.overall[report.overall["sparsity"] == 0]["map"].median()
    assert summary["dense_map"] == pytest.approx(dense)
    assert summary["delta_ap_sparsity"] == 0.95
    assert summary["pie"]["hidden_truth"]["label_noise"]["test"].startswith("Fisher")


def test_class_summary_agrees_with_the_curves(written):
    report, _, _ = written
    cs = report.class_summary.set_index("class")
    f = report.forgettability
    hernia = f[f["class"] == "Hernia"].set_index("sparsity")["median_rel_change_ap"]
    assert cs.loc["Hernia", "delta_ap_95"] == pytest.approx(hernia[0.95])
    below = hernia[(hernia < -0.2) & (hernia.index > 0)]
    expected = below.index.min() if len(below) else np.nan
    assert cs.loc["Hernia", "first_drop_20"] == pytest.approx(expected, nan_ok=True)
    assert cs["test_freq"].tolist() == synthetic()[1].sum(axis=0).tolist()


def test_progress_reaches_the_total(written):
    _, _, calls = written
    assert calls[-1][0] == calls[-1][1] and calls[-1][2] == "done"
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_report_without_pie_table_has_no_pies_file_and_no_fig5(tmp_path):
    report = run(pie_table=None, hidden_truth=None, n_boot=0, n_perm=0)
    paths = report.write(tmp_path, formats=("png",))
    names = {p.name for p in paths}
    assert "pies.csv" not in names and "fig5_pies.png" not in names and "fig4_cooccurrence.png" in names
    assert report.summary["n_pies"] is None


def test_missing_95_percent_sparsity_uses_the_largest_and_labels_it():
    probs, y, train, *_ = synthetic(sparsities=SPARSITIES[:4])
    report = compute_report(probs, y, train, SPARSITIES[:4], NAMES, n_boot=0, n_perm=0)
    assert report.summary["delta_ap_sparsity"] == 0.8
    assert "largest available" in report.summary["delta_ap_label"]


def test_unsorted_sparsities_and_train_counts_are_accepted():
    probs, y, train, *_ = synthetic()
    order = [3, 0, 4, 1, 2]
    a = compute_report(probs, y, train, SPARSITIES, NAMES, n_boot=0, n_perm=0)
    b = compute_report(probs[:, order], y, train.sum(axis=0), SPARSITIES[order], NAMES, n_boot=0, n_perm=0)
    pd.testing.assert_frame_equal(a.class_summary, b.class_summary)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels_test": np.zeros((239, 5))}, r"labels_test shape \(239, 5\) does not match probs \[N=240"),
        ({"class_names": NAMES[:4]}, r"probs has 5 classes .* class_names has 4"),
        ({"sparsities": SPARSITIES[1:]}, r"sparsities has shape \(4,\) but probs has 5"),
        ({"sparsities": SPARSITIES + 0.01}, "must include 0"),
        ({"labels_train": np.zeros((10, 4))}, r"labels_train shape \(10, 4\)"),
        ({"seeds": [1, 2]}, "seeds has 2 entries but probs has 3 seeds"),
    ],
)
def test_bad_inputs_name_the_array_and_the_mismatch(change, message):
    probs, y, train, *_ = synthetic()
    args = {
        "probs": probs,
        "labels_test": y,
        "labels_train": train,
        "sparsities": SPARSITIES,
        "class_names": NAMES,
    } | change
    with pytest.raises(ReportInputError, match=message):
        compute_report(**args)


def test_label_table_with_extra_columns_is_reduced_to_the_classes():
    probs, y, train, *_ = synthetic()
    table = pd.DataFrame(y, columns=NAMES).assign(**{"Patient ID": 123456, "Image Index": "x"})
    a = compute_report(probs, table, train, SPARSITIES, NAMES, n_boot=0, n_perm=0)
    assert a.class_summary["test_freq"].tolist() == y.sum(axis=0).tolist()


def test_a_class_without_positive_test_images_is_not_estimable_not_never_dropping():
    probs, y, train, ids, pie_table, truth = synthetic()
    y[:, NAMES.index("Hernia")] = 0  # no positive test image left
    report = compute_report(probs, y, train, SPARSITIES, NAMES, n_boot=50, n_perm=19, classes_to_plot=NAMES)
    row = report.class_summary.set_index("class").loc["Hernia"]
    assert not row["estimable"] and np.isnan(row["first_drop_20"])
    assert report.summary["not_estimable"] == ["Hernia"]
    never = report.class_summary["first_drop_20"].isna() & report.class_summary["estimable"]
    assert report.summary["n_never_drop_20"] == int(never.sum())
    assert report.correlations["first_drop_20_vs_log_train_freq"].n == int(
        report.class_summary["first_drop_20"].notna().sum()
    )
    legend = [t.get_text() for t in report.figures["fig2_curves"].legends[0].get_texts()]
    assert legend and not any(t.startswith("Hernia") for t in legend)
    notes = [t.get_text() for t in report.figures["fig2_curves"].texts + report.figures["fig3_frequency"].texts]
    assert sum("Not estimable" in t and "Hernia" in t for t in notes) == 2
    ax = report.figures["fig3_frequency"].axes[0]
    points = sum(int(np.isfinite(np.asarray(c.get_offsets(), float)).all(axis=1).sum()) for c in ax.collections)
    assert points == int(report.class_summary["estimable"].sum())  # Hernia drawn neither filled nor hollow


def test_report_and_statistics_csvs_end_lines_with_crlf_and_neutralise_formulas(tmp_path):
    """Written as the reader-study exports are (common.csvsafe): RFC 4180 line ends, so a CR inside a
    text cell is quoted, and text a spreadsheet would run as a formula gets a leading quote; numbers stay."""
    from analysis.core.perception.compute import PerceptionResult

    probs, y, train, ids, pie_table, _ = synthetic(n=60)
    pie_table["image_id"] = ["=HYPERLINK(1)", "@SUM(A1)", *ids[2:]]
    names = ["No Finding", "+Effusion", "Mass", "Nodule", "Hernia"]
    report = compute_report(
        probs,
        y,
        train,
        SPARSITIES,
        names,
        pie_table=pie_table,
        image_ids=list(pie_table["image_id"]),
        n_boot=0,
        n_perm=0,
    )
    report.write(tmp_path / "report", formats=("png",))
    table = pd.DataFrame({"reader": ["=cmd|' /C calc'!A0", "\tR2", "R3\rX"], "mean": [-1.5, 2.0, 0.25]})
    PerceptionResult("fast", {"descriptive": table}, {"sentences": []}).write(tmp_path / "stats", formats=())

    csvs = sorted((tmp_path / "report").glob("*.csv")) + [tmp_path / "stats" / "descriptive.csv"]
    assert {p.name for p in csvs} >= {"class_metrics.csv", "class_summary.csv", "pies.csv", "descriptive.csv"}
    for path in csvs:
        raw = path.read_bytes()
        assert raw.endswith(b"\r\n") and raw.count(b"\n") == raw.count(b"\r\n"), path.name
    summary = (tmp_path / "report" / "class_summary.csv").read_text()
    assert "'+Effusion" in summary and "\r\n+Effusion" not in summary
    pies = (tmp_path / "report" / "pies.csv").read_text()
    assert "'=HYPERLINK(1)" in pies and "'@SUM(A1)" in pies
    stats = (tmp_path / "stats" / "descriptive.csv").read_bytes()
    assert b"'=cmd" in stats and b"'\tR2" in stats and b'"R3\rX"' in stats and b"-1.5" in stats
    assert b"'-1.5" not in stats
