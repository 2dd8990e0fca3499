"""Every DEMO_SCALE yields enough PIEs for its own reader study (the old demo had 20 PIEs for a 120-PIE study)."""

import math

import pytest

from analysis.demo_scales import SCALES, demo_scale
from pruning.engine.synthetic_labels import sample_plan


@pytest.mark.parametrize("name", sorted(SCALES))
def test_the_test_split_of_each_scale_gives_the_pies_its_study_needs(name):
    s = demo_scale(name)
    plan, _ = sample_plan(s.n_images, 0, s.fractions)  # the same split make_synthetic writes (seed 0)
    n_pies = math.floor(0.05 * int((plan["split"] == "test").sum()))
    pies_per_form = round(s.cases_per_form * s.pie_fraction)
    needed = s.n_forms * (pies_per_form - s.anchors[0]) + s.anchors[0]
    assert n_pies >= needed


def test_default_scale_builds_the_papers_study_design():
    s = demo_scale("default")
    assert (s.n_forms, s.cases_per_form, s.pie_fraction) == (6, 40, 0.5)
    assert s.anchors != (0, 0) and s.repeat_cases > 0 and s.simulated_readers == 2


def test_an_unknown_scale_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="choose one of tiny, default, large"):
        demo_scale("huge")
