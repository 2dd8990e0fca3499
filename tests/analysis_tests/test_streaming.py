"""Streaming seed by seed gives the same report as stacking every seed, bit for bit."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.core.metrics import class_metrics
from analysis.core.report import compute_report
from analysis.core.stats import _rowwise_pearson, mantel_p
from analysis.core.streaming import SeedAccumulator
from analysis.reports.paper_inputs import load_paper_layout
from pruning.engine.pies import ensemble_mean, select_pies_from_sets
from pruning.engine.prunecxr import import_prunecxr, iter_prunecxr
from pruning.engine.store import stack_seeds
from tests.analysis_tests.django_fixtures import DATASET, write_paper_layout
from tests.analysis_tests.test_core_report import NAMES, SPARSITIES, synthetic


def same_summary(a: dict, b: dict) -> bool:
    """Equal as written to summary.json (NaN equals NaN there)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def test_accumulated_metrics_and_mean_equal_those_of_the_stacked_array_exactly():
    probs, y, *_ = synthetic(seeds=4)
    acc = SeedAccumulator(y, len(SPARSITIES))
    for seed_probs in probs:
        acc.add(seed_probs)
    whole = class_metrics(probs, y)
    got = acc.metrics()
    for a, b in ((got.auc, whole.auc), (got.ap, whole.ap), (got.f1, whole.f1)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(acc.ensemble_mean(), ensemble_mean(probs))


def test_accumulator_refuses_a_seed_of_another_shape():
    probs, y, *_ = synthetic(seeds=1)
    acc = SeedAccumulator(y, len(SPARSITIES))
    with pytest.raises(ValueError, match=r"seed 0: probs shape \(4, 240, 5\)"):
        acc.add(probs[0, 1:])


def test_report_from_metrics_equals_report_from_predictions_with_unsorted_sparsities():
    probs, y, train, ids, pie_table, truth = synthetic()
    order = np.array([3, 0, 4, 1, 2])
    # without scores (metrics only) there are no who sections; test_command_who compares those streamed
    kw = {"pie_table": pie_table, "image_ids": ids, "n_boot": 50, "n_perm": 19, "seeds": [1, 2, 3], "who": False}
    a = compute_report(probs[:, order], y, train, SPARSITIES[order], NAMES, **kw)
    b = compute_report(None, y, train, SPARSITIES[order], NAMES, metrics=class_metrics(probs[:, order], y), **kw)
    for name, table in a.tables().items():
        pd.testing.assert_frame_equal(table, b.tables()[name], check_exact=True)
    assert same_summary(a.summary, b.summary)


def test_streamed_paper_layout_gives_the_stacked_report_and_pie_set(tmp_path):
    layout = write_paper_layout(tmp_path)
    streamed = load_paper_layout(layout["preds"], layout["labels"], DATASET)
    assert streamed.probs is None and streamed.metrics.auc.shape == (2, 4, 5)
    sets = import_prunecxr(layout["preds"], DATASET, image_ids=streamed.image_ids)
    probs, sparsities, _, classes = stack_seeds(sets)
    pies = select_pies_from_sets(sets, 0.9, 0.05).table
    pd.testing.assert_frame_equal(streamed.pie_table, pies, check_exact=True)
    assert streamed.pie_table.attrs == pies.attrs
    kw = {"seeds": streamed.seeds, "image_ids": streamed.image_ids, "n_boot": 50, "n_perm": 19}
    y_test, y_train = streamed.labels_test, streamed.labels_train
    stacked = compute_report(probs, y_test, y_train, sparsities, classes, pie_table=pies, **kw)
    report = streamed.compute(n_boot=50, n_perm=19)
    for name, table in stacked.tables().items():
        pd.testing.assert_frame_equal(report.tables()[name], table, check_exact=True)
    assert same_summary(report.summary, stacked.summary)


def test_reading_ahead_still_names_the_first_bad_file_in_order(tmp_path):
    layout = write_paper_layout(tmp_path)
    bad = layout["preds"] / f"{DATASET}_resnet50_seed-1_prune-0.5.pkl"
    df = pd.read_pickle(bad)
    df.iloc[3, 0] = np.nan
    df.to_pickle(bad)
    stream = iter_prunecxr(layout["preds"], DATASET, workers=3)
    assert next(stream).probs.shape == (4, 60, 5)  # seed 0 is fine
    with pytest.raises(ValueError, match=r"seed-1_prune-0.5.pkl: non-finite prediction in row 3"):
        next(stream)


def _mantel_loop(a, b, method, n_perm, seed):
    """The per-permutation loop the vectorised mantel_p replaced (reference)."""
    c = a.shape[0]
    iu = np.triu_indices(c, 1)
    bv = b[iu]

    def stat(av):
        ok = np.isfinite(av) & np.isfinite(bv)
        u, v = av[ok], bv[ok]
        if method == "spearman":
            u, v = sps.rankdata(u), sps.rankdata(v)
        return float(_rowwise_pearson(u[None], v[None])[0]) if u.size >= 3 else math.nan

    obs = stat(a[iu])
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n_perm):
        perm = rng.permutation(c)
        s = stat(a[perm][:, perm][iu])
        hits += bool(np.isfinite(s) and abs(s) >= abs(obs) - 1e-12)
    return (1 + hits) / (1 + n_perm)


@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("case", ["finite", "nan", "ties", "related"])
def test_vectorised_mantel_p_equals_the_permutation_loop(method, case):
    rng = np.random.default_rng(len(case))
    c = 12
    x, z = rng.random((c, c)), rng.random((c, c))
    a, b = x + x.T, z + z.T
    if case == "nan":
        a[1, 2] = a[2, 1] = np.nan
    if case == "ties":
        b = np.round(b, 1)
    if case == "related":
        a = a + 2 * b
    assert mantel_p(a, b, method=method, n_perm=199, seed=3) == _mantel_loop(a, b, method, 199, 3)
