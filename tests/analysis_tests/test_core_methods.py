"""Cross-method comparison on a fixture built by hand: every number checked against arithmetic done here."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from analysis.core.methods import MethodRun, jaccard_permutation, pareto_front, tail_classes
from analysis.core.methods_report import compare

DENSE = np.array([0.8, 0.6, 0.5])  # AP of classes c0, c1, c2 on every seed
COUNTS = np.array([1000, 100, 10])  # train positives: c2 is the tail
NAMES = ["c0", "c1", "c2"]
# Relative AP change per seed [3 seeds, classes] at each compressed level.
L1 = {
    0.5: [[0, -0.1, -0.2], [-0.05, 0, -0.25], [0, -0.05, -0.3]],
    0.9: [[-0.1, -0.5, -0.8], [-0.2, -0.5, -0.7], [-0.15, -0.4, -0.75]],
}
INT8 = {0.75: [[0, -0.05, -0.1], [-0.05, 0, -0.1], [0, 0, -0.1]]}


def run(name, family, changes, heavy, sizes, pies=None):
    levels = [0.0, *changes]
    ap = np.stack([np.tile(DENSE, (3, 1))] + [DENSE * (1 + np.array(changes[lv])) for lv in changes], axis=1)
    costs = {lv: {"file_bytes": b} for lv, b in zip(levels, sizes, strict=True)}
    return MethodRun(name, family, np.array(levels), heavy, ap, pies, costs)


def pies(idx):
    m = np.zeros(20, bool)
    m[idx] = True
    return m


@pytest.fixture
def comparison():
    runs = [
        run("l1", "pruning", L1, 0.9, [1000, 600, 200], pies([0, 1, 2, 3])),
        run("int8", "quantization", INT8, 0.75, [1000, 260], pies([2, 3, 4, 5])),
    ]
    return compare(runs, COUNTS, NAMES, n_perm=4000, n_boot=200)


def test_forgetting_curves_are_the_median_over_seeds_of_the_relative_ap_change(comparison):
    c = comparison.curves.set_index(["method", "level", "class"])["rel_change"]
    assert c[("l1", 0.9, "c0")] == pytest.approx(-0.15)
    assert c[("l1", 0.9, "c2")] == pytest.approx(-0.75)
    assert c[("int8", 0.75, "c1")] == pytest.approx(0.0, abs=1e-12)
    assert comparison.first_forgotten == {"l1": ["c2", "c1", "c0"], "int8": ["c2", "c0", "c1"]}


def test_the_tail_is_the_rarest_third_and_its_ap_is_averaged_over_seeds(comparison):
    assert comparison.tail.tolist() == [2]
    q = comparison.quality.set_index(["method", "level"])
    assert q.loc[("l1", 0.9), "mAP"] == pytest.approx(0.375)  # (0.37333 + 0.36333 + 0.38833) / 3
    assert q.loc[("l1", 0.9), "tail_AP"] == pytest.approx(0.125)  # (0.1 + 0.15 + 0.125) / 3
    assert q.loc[("int8", 0.75), "mAP"] == pytest.approx((0.60667 + 0.60333 + 0.61667) / 3, abs=1e-5)
    assert q.loc[("int8", 0.75), "tail_AP"] == pytest.approx(0.45)


def test_the_pareto_front_of_map_against_file_size_drops_the_dominated_l1_level(comparison):
    q = comparison.quality
    front = dict(zip(zip(q["method"], q["level"], strict=True), q["pareto_mAP_file_bytes"], strict=True))
    # l1 at 0.5 (600 bytes, mAP 0.577) is beaten by int8 (260 bytes, mAP 0.609); equal dense points both stay.
    assert front == {
        ("l1", 0.0): True,
        ("l1", 0.5): False,
        ("l1", 0.9): True,
        ("int8", 0.0): True,
        ("int8", 0.75): True,
    }


def test_forgetting_correlates_with_frequency_as_computed_by_hand(comparison):
    row = comparison.correlations.set_index("method").loc["l1"]
    # x = log10 counts = [3, 2, 1]; y = [-0.15, -0.5, -0.75]: r = 0.6 / sqrt(2 * 0.181667) = 0.99540.
    assert row["r"] == pytest.approx(0.6 / math.sqrt(2 * 0.1816667), abs=1e-4)
    assert row["rho"] == pytest.approx(1.0) and row["n"] == 3


def test_pie_overlap_is_jaccard_with_the_hypergeometric_random_baseline(comparison):
    row = comparison.overlap.iloc[0]
    assert row["jaccard"] == pytest.approx(2 / 6)
    # Overlap k of a random 4-set with a fixed 4-set among 20 is hypergeometric; Jaccard = k / (8 - k).
    k = np.arange(5)
    pk = sps.hypergeom(20, 4, 4).pmf(k)
    assert row["baseline"] == pytest.approx(float((pk * k / (8 - k)).sum()), abs=0.01)
    assert row["p"] == pytest.approx(float(pk[2:].sum()), abs=0.01)


def test_quantization_forgets_the_tail_less_than_pruning_at_equal_size_holds_on_the_fixture(comparison):
    (t,) = comparison.equal_size
    assert t["prune_level"] == 0.9 and t["prune_bytes"] == 200 and t["quant_bytes"] == 260
    # Per seed d = int8 tail change - l1 tail change = [0.7, 0.6, 0.65]: mean 0.65, sd 0.05, t(0.975, 2) = 4.3027.
    assert t["diff"] == pytest.approx(0.65)
    half = 4.302653 * 0.05 / math.sqrt(3)
    assert t["ci"][0] == pytest.approx(0.65 - half, abs=1e-5) and t["ci"][1] == pytest.approx(0.65 + half, abs=1e-5)
    assert t["verdict"] == "holds"
    assert "the claim holds" in comparison.statements()[0]


def test_the_claim_is_contradicted_or_not_shown_when_the_data_say_so():
    worse = {0.75: [[0, 0, -0.9], [0, 0, -0.8], [0, 0, -0.85]]}  # int8 loses more tail AP than l1 at 0.9
    runs = [run("l1", "pruning", L1, 0.9, [1000, 600, 200]), run("q", "quantization", worse, 0.75, [1000, 260])]
    assert compare(runs, COUNTS, NAMES, n_boot=50).equal_size[0]["verdict"] == "contradicted"
    mixed = {0.75: [[0, 0, -0.1], [0, 0, -0.9], [0, 0, -0.75]]}
    runs[1] = run("q", "quantization", mixed, 0.75, [1000, 260])
    assert compare(runs, COUNTS, NAMES, n_boot=50).equal_size[0]["verdict"] == "not shown"
    runs[1].costs = {}
    res = compare(runs, COUNTS, NAMES, n_boot=50).equal_size[0]
    assert res["verdict"] == "not estimable" and "file sizes were not measured" in res["reason"]


def test_helpers_on_edge_cases():
    assert tail_classes(np.array([5, 5, 1, 9]), 0.5).tolist() == [0, 2]  # tie at 5: class order
    assert pareto_front(np.array([1.0, np.nan]), np.array([0.5, 0.9])).tolist() == [True, False]
    res = jaccard_permutation(np.zeros(5, bool), np.zeros(5, bool), n_perm=10)
    assert math.isnan(res["jaccard"]) and math.isnan(res["p"])


def test_the_report_writes_its_tables_figures_and_statements(comparison, tmp_path):
    paths = {p.name for p in comparison.write(tmp_path)}
    assert {"curves.csv", "quality_cost.csv", "pie_overlap.csv", "comparison.json", "methods_pareto.png"} <= paths
    assert (tmp_path / "methods_pie_overlap.png").stat().st_size > 1000
