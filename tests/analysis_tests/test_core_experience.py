"""Experience as a covariate, per-experience-group summaries and repeat gaps (analysis.core.perception
.experience), on hand-computed tables and a planted effect."""

import numpy as np
import pandas as pd

from analysis.core.perception.experience import experience_groups, experience_model, repeat_gaps


def _row(reader, case, pie, y, years, repeat_of=None, done="2026-01-01T00:00:00+00:00"):
    return {"reader": reader, "case_id": case, "is_pie": pie, "question": "q", "value_numeric": y,
            "profile_years_cxr": years, "repeat_of_case_id": repeat_of, "case_completed_at": done}  # fmt: skip


def test_group_summaries_match_hand_computed_means_and_sds():
    tidy = pd.DataFrame([
        _row("R1", 1, True, 4, 2), _row("R1", 2, False, 2, 2), _row("R2", 1, True, 2, 3), _row("R2", 2, False, 1, 3),
        _row("R3", 1, True, 5, 12), _row("R3", 2, False, 3, 12), _row("R3", 9, True, 1, 12, repeat_of=1),
    ])  # fmt: skip
    g = experience_groups(tidy).set_index(["experience", "is_pie"])
    assert g.loc[("0-4 y", 1), "mean"] == 3.0 and np.isclose(g.loc[("0-4 y", 1), "sd"], np.sqrt(2))
    assert g.loc[("0-4 y", 0), "n_readers"] == 2 and g.loc[("0-4 y", 0), "mean"] == 1.5
    assert g.loc[(">=10 y", 1), "n_answers"] == 1 and g.loc[(">=10 y", 1), "mean"] == 5.0  # the repeat is left out


def test_the_covariate_model_recovers_a_planted_pie_effect_and_experience_slope():
    rng = np.random.default_rng(4)
    readers = {f"R{k}": years for k, years in enumerate([1, 3, 6, 9, 14, 20, 25, 30])}
    case_effect = rng.normal(0, 0.3, 60)
    rows = []
    for r, years in readers.items():
        bias = rng.normal(0, 0.3)
        for c in range(60):
            pie = c < 30
            y = 3 + 0.8 * pie - 0.05 * years + bias + case_effect[c] + rng.normal(0, 0.5)
            rows.append(_row(r, c, pie, y, years))
    m = experience_model(pd.DataFrame(rows)).set_index("parameter")
    pie, slope = m.loc["is_pie (adjusted for years)"], m.loc["years_cxr (per year)"]
    assert pie["ci_low"] < 0.8 < pie["ci_high"] and abs(pie["estimate"] - 0.8) < 0.25
    assert slope["ci_low"] < -0.05 < slope["ci_high"] and slope["ci_high"] < 0


def test_the_model_says_what_is_missing_with_too_few_readers():
    tidy = pd.DataFrame([_row("R1", 1, True, 4, 2), _row("R2", 2, False, 2, 9)])
    assert experience_model(tidy)["note"].iloc[0].startswith("not estimable: needs >= 3 readers")


def test_repeat_gaps_are_the_days_between_a_case_and_its_repeat():
    tidy = pd.DataFrame([
        _row("R1", 1, True, 4, 2, done="2026-01-01T10:00:00+00:00"),
        _row("R1", 2, False, 4, 2, done="2026-01-01T11:00:00+00:00"),
        _row("R1", 7, True, 4, 2, repeat_of=1, done="2026-01-31T10:00:00+00:00"),
        _row("R1", 8, False, 4, 2, repeat_of=2, done="2026-02-02T11:00:00+00:00"),
    ])  # fmt: skip
    g = repeat_gaps(tidy).set_index("reader").loc["R1"]
    assert g["n_pairs"] == 2 and g["min_gap_days"] == 30 and g["max_gap_days"] == 32 and g["median_gap_days"] == 31
