"""Calibration and selective prediction on hand-built predictions."""

import numpy as np

from analysis.core.calibration import compute_calibration, ece_equal_mass, reliability, risk_coverage

S = np.array([0.1, 0.1, 0.4, 0.4, 0.6, 0.6, 0.9, 0.9])
Y = np.array([0, 0, 0, 1, 1, 1, 1, 0])


def test_ece_with_equal_mass_bins_on_hand_built_predictions():
    # 4 bins of 2: (0.1 vs 0) (0.4 vs 0.5) (0.6 vs 1) (0.9 vs 0.5) -> (0.1 + 0.1 + 0.4 + 0.4) / 4
    assert np.isclose(ece_equal_mass(S, Y, n_bins=4), 0.25, atol=1e-15)
    # one bin: |mean score 0.5 - positive rate 0.5| = 0
    assert np.isclose(ece_equal_mass(S, Y, n_bins=1), 0.0, atol=1e-15)
    # perfectly calibrated bins give zero
    assert ece_equal_mass(np.array([0.0, 0.0, 1.0, 1.0]), np.array([0, 0, 1, 1]), n_bins=2) == 0.0


def test_brier_and_pooled_tables_on_hand_built_predictions():
    probs = np.stack([S, 1 - S], axis=1)[None]  # [S=1, N=8, C=2]
    labels = np.stack([Y, 1 - Y], axis=1)
    res = compute_calibration(probs, labels, np.array([0.0]), ["a", "b"], n_bins=4)
    a = res.per_class.set_index("class").loc["a"]
    assert np.isclose(a["brier"], 1.68 / 8) and np.isclose(a["ece"], 0.25)
    # the mirrored class has the same errors; pooled Brier is their mean
    assert np.isclose(res.overall["brier"].iloc[0], 1.68 / 8)
    assert np.isclose(res.overall["ece_class_mean"].iloc[0], 0.25)
    rel = reliability(S, Y, n_bins=4)
    assert rel["n"].tolist() == [2, 2, 2, 2] and rel["positive_rate"].tolist() == [0, 0.5, 1, 0.5]


def test_risk_coverage_and_aurc_by_hand():
    # confidence |s - 0.5|: 0.4, 0.1, 0.05, 0.4 -> order 0, 3, 1, 2; errors at 1 (0.6 vs 0) and 2 (0.45 vs 1)
    risk = risk_coverage(np.array([0.9, 0.6, 0.45, 0.1]), np.array([1, 0, 1, 0]))
    assert np.allclose(risk, [0, 0, 1 / 3, 1 / 2])
    probs = np.array([0.9, 0.6, 0.45, 0.1])[None, :, None]
    res = compute_calibration(probs, np.array([[1], [0], [1], [0]]), np.array([0.0]), ["a"])
    assert np.isclose(res.overall["aurc"].iloc[0], (1 / 3 + 1 / 2) / 4)
    assert np.isclose(res.overall["risk_80"].iloc[0], 1 / 3) and np.isclose(res.overall["risk_full"].iloc[0], 0.5)
    assert len(res.curves) == 100 and res.curves["risk"].iloc[-1] == 0.5


def test_an_overconfident_model_has_a_larger_ece_than_a_calibrated_one():
    rng = np.random.default_rng(0)
    p = rng.random(20_000)
    y = (rng.random(20_000) < p).astype(int)  # calibrated by construction
    sharp = np.where(p > 0.5, 1 - (1 - p) / 3, p / 3)  # pushed towards 0 and 1
    assert ece_equal_mass(p, y) < 0.02 < ece_equal_mass(sharp, y)


def test_the_fast_packed_key_tables_agree_with_the_plain_definitions():
    rng = np.random.default_rng(5)
    p = rng.random((2, 3000, 4)).astype(np.float32)  # float32 scores: the packed keys are exact
    y = (rng.random((3000, 4)) < p[0]).astype(np.uint8)
    res = compute_calibration(p, y, np.array([0.0, 0.5]), list("abcd"))
    for j in range(2):
        for c, name in enumerate("abcd"):
            row = res.per_class.query(f"level == {j / 2} and `class` == '{name}'").iloc[0]
            assert np.isclose(row["ece"], ece_equal_mass(p[j, :, c], y[:, c]), atol=1e-12)
            risk = risk_coverage(p[j, :, c], y[:, c])
            assert np.isclose(row["aurc"], risk.mean(), atol=1e-12) and row["risk_80"] == risk[2399]
        flat_p, flat_y = p[j].T.ravel(), y.T.ravel()
        ov = res.overall.iloc[j]
        assert np.isclose(ov["ece"], ece_equal_mass(flat_p, flat_y), atol=1e-12)
        assert np.isclose(ov["aurc"], risk_coverage(flat_p, flat_y).mean(), atol=1e-12)
