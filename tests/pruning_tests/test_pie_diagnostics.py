"""PIE-selection diagnostics: findings per image, class mix, dominance warning, leave-one-seed-out Jaccard."""

import numpy as np
import pytest

from pruning.engine.pie_diagnostics import diagnostics_from_sets, dominance_warning, jaccard, pie_diagnostics
from pruning.engine.pies import select_pies_from_sets
from pruning.engine.store import PredictionSet

NAMES = ["No Finding", "Effusion", "Mass"]


def test_jaccard_of_masks():
    a = np.array([1, 1, 0, 0], bool)
    assert jaccard(a, np.array([1, 0, 1, 0], bool)) == pytest.approx(1 / 3)
    assert jaccard(a, a) == 1.0 and jaccard(~a & a, ~a & a) == 1.0


def test_findings_per_image_and_class_mix_compare_pies_with_non_pies():
    labels = np.array([[1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 1], [0, 1, 0], [0, 0, 1]])
    is_pie = np.array([True, True, False, False, False, False])
    d = pie_diagnostics(is_pie, labels, NAMES)
    f = d["findings_per_image"]
    assert f["pie_mean"] == 0.0 and f["non_pie_mean"] == 1.0
    assert f["pie_without_findings"] == 1.0 and f["non_pie_without_findings"] == 0.25
    mix = {r["class"]: r for r in d["class_mix"]}
    assert mix["No Finding"]["pie_share"] == 1.0 and mix["No Finding"]["non_pie_share"] == 0.25
    assert mix["No Finding"]["ratio"] == 4.0 and d["class_mix"][0]["class"] == "No Finding"
    assert "2 of 2 PIEs (100%) carry 'No Finding'" in d["dominance_warning"]


def test_no_dominance_warning_when_the_top_class_is_as_common_among_non_pies():
    mix = [{"class": "No Finding", "pie_share": 0.6, "non_pie_share": 0.55, "n_pies": 6}]
    assert dominance_warning(mix, 10) == ""
    mix = [{"class": "No Finding", "pie_share": 0.45, "non_pie_share": 0.1, "n_pies": 4}]
    assert dominance_warning(mix, 10) == ""  # under half of the PIEs


def _sets(n_seeds=3, n=60, c=3, seed=0):
    rng = np.random.default_rng(seed)
    sp = [0.0, 0.9]
    out = []
    for _ in range(n_seeds):
        ps = PredictionSet.empty(sp, [f"i{k}" for k in range(n)], NAMES[:c])
        ps.probs[:] = rng.random(ps.probs.shape).astype(np.float32)
        ps.done[:] = True
        out.append(ps)
    return out


def test_leave_one_seed_out_reselects_with_the_same_rule_and_is_one_for_identical_seeds():
    sets = _sets()
    labels = (np.random.default_rng(1).random((60, 3)) < 0.3).astype(int)
    full = select_pies_from_sets(sets, 0.9, 0.1)
    d = diagnostics_from_sets(sets, full.table["is_pie"].to_numpy(), labels, NAMES, [4, 5, 6], sparsity=0.9, q=0.1)
    loso = d["leave_one_seed_out"]
    assert [r["left_out_seed"] for r in loso] == [4, 5, 6] and all(r["n_pies"] == 6 for r in loso)
    solo = select_pies_from_sets(sets[1:], 0.9, 0.1).table["is_pie"].to_numpy()
    assert loso[0]["jaccard"] == pytest.approx(jaccard(solo, full.table["is_pie"].to_numpy()))
    assert loso[0]["jaccard"] < 1  # random predictions: leaving a seed out changes the set
    same = [sets[0]] * 3
    d = diagnostics_from_sets(
        same, select_pies_from_sets(same, 0.9, 0.1).table["is_pie"].to_numpy(), labels, NAMES, [0, 1, 2],
        sparsity=0.9, q=0.1,
    )  # fmt: skip
    assert d["jaccard_min"] == 1.0


def test_one_seed_has_no_leave_one_out_rows():
    sets = _sets(1)
    is_pie = select_pies_from_sets(sets, 0.9, 0.1).table["is_pie"].to_numpy()
    d = diagnostics_from_sets(sets, is_pie, np.zeros((60, 3), int), NAMES, [0], sparsity=0.9, q=0.1)
    assert d["leave_one_seed_out"] == [] and d["jaccard_mean"] is None
