"""Form balancing and presentation order (pure functions, no database)."""

from collections import Counter

import pytest

from readerstudy.design import DesignError, longest_run, plan_forms, presentation_order

from .conftest import make_candidates


@pytest.fixture
def pool(tmp_path):
    return make_candidates(tmp_path, n_pie=60, n_non=150)


def test_every_form_holds_exactly_the_requested_pies_and_non_pies(pool):
    plan = plan_forms(pool, n_forms=6, cases_per_form=20, pie_fraction=0.5, seed=1)
    for form in plan.forms:
        flags = [pool[i].is_pie for i in form.cases]
        assert (sum(flags), len(flags) - sum(flags)) == (10, 10)


def test_non_anchor_cases_appear_in_exactly_one_form(pool):
    plan = plan_forms(pool, n_forms=6, cases_per_form=20, pie_fraction=0.5, seed=1)
    counts = Counter(i for f in plan.forms for i in f.cases)
    assert set(counts.values()) == {1}


def test_anchor_cases_are_in_every_form_and_count_toward_the_balance(pool):
    anchors = [pool[0].source_image_id, pool[100].source_image_id]  # one PIE, one non-PIE
    plan = plan_forms(pool, n_forms=4, cases_per_form=10, pie_fraction=0.5, anchor_ids=anchors, seed=3)
    for form in plan.forms:
        assert {0, 100} <= set(form.cases)
        assert sum(pool[i].is_pie for i in form.cases) == 5 and len(form.cases) == 10
    others = Counter(i for f in plan.forms for i in f.cases if i not in (0, 100))
    assert set(others.values()) == {1}


def test_plan_is_reproducible_from_its_seed_and_changes_with_it(pool):
    a = plan_forms(pool, n_forms=3, cases_per_form=10, pie_fraction=0.5, seed=5)
    b = plan_forms(list(reversed(pool)), n_forms=3, cases_per_form=10, pie_fraction=0.5, seed=5)
    c = plan_forms(pool, n_forms=3, cases_per_form=10, pie_fraction=0.5, seed=6)
    ids = lambda plan, cands: [[cands[i].source_image_id for i in f.cases] for f in plan.forms]  # noqa: E731
    assert ids(a, pool) == ids(b, list(reversed(pool)))
    assert ids(a, pool) != ids(c, pool)


def test_too_few_pies_is_refused_with_the_counts(pool):
    with pytest.raises(DesignError, match=r"need 120 PIEs .* selection has 60 PIEs"):
        plan_forms(pool, n_forms=6, cases_per_form=40, pie_fraction=0.5)


def test_anchor_set_larger_than_a_forms_quota_is_refused(pool):
    anchors = [c.source_image_id for c in pool[:3]]
    with pytest.raises(DesignError, match="anchor set has 3 PIEs"):
        plan_forms(pool, n_forms=2, cases_per_form=4, pie_fraction=0.5, anchor_ids=anchors)


def test_unknown_anchor_and_duplicate_ids_are_refused(pool):
    with pytest.raises(DesignError, match="not among the candidates: nope"):
        plan_forms(pool, n_forms=1, cases_per_form=4, pie_fraction=0.5, anchor_ids=["nope"])
    with pytest.raises(DesignError, match="must be unique"):
        plan_forms(pool + pool[:1], n_forms=1, cases_per_form=4, pie_fraction=0.5)


def test_repeats_are_drawn_from_the_form_with_its_pie_share(pool):
    plan = plan_forms(pool, n_forms=2, cases_per_form=10, pie_fraction=0.5, repeat_cases=4, seed=2)
    for form in plan.forms:
        assert set(form.repeats) <= set(form.cases) and len(set(form.repeats)) == 4
        assert sum(pool[i].is_pie for i in form.repeats) == 2


def test_stratified_non_pies_share_the_label_sets_of_the_pies(tmp_path):
    pool = make_candidates(tmp_path, n_pie=12, n_non=0)
    for c in pool[:12]:
        c.shown_labels = ["Hernia"] if int(c.source_image_id[-8:-4]) % 3 == 0 else ["Effusion"]
    non = make_candidates(tmp_path / "n", n_pie=0, n_non=60, prefix="n")
    for k, c in enumerate(non):
        c.shown_labels = ["Hernia"] if k < 6 else (["Effusion"] if k < 20 else ["No Finding"])
    plan = plan_forms(pool + non, n_forms=2, cases_per_form=12, pie_fraction=0.5, stratify_by_class=True, seed=4)
    every = pool + non
    for form in plan.forms:
        pies = Counter(every[i].shown_labels[0] for i in form.cases if every[i].is_pie)
        nons = Counter(every[i].shown_labels[0] for i in form.cases if not every[i].is_pie)
        assert pies == nons
    assert plan.stratified_matches == 12


def test_presentation_order_is_recreated_by_its_seed():
    ids = list(range(100, 140))
    flags = {i: i % 2 == 0 for i in ids}
    first = presentation_order(ids, 1234, is_pie=flags)
    assert presentation_order(list(reversed(ids)), 1234, is_pie=flags) == first
    assert sorted(first) == ids and first != ids
    assert presentation_order(ids, 1235, is_pie=flags) != first


def test_presentation_order_never_groups_pies():
    # Ids sorted so that PIEs come first: the worst input for a lazy shuffle.
    ids = list(range(40))
    flags = {i: i < 20 for i in ids}
    for seed in range(50):
        order = presentation_order(ids, seed, is_pie=flags)
        assert longest_run([flags[i] for i in order]) <= 5


def test_repeats_are_kept_away_from_their_original():
    ids = list(range(12))
    flags = {i: i < 6 for i in ids}
    for seed in range(20):
        order = presentation_order(ids, seed, is_pie=flags, repeat_of={10: 0, 11: 7})
        assert abs(order.index(10) - order.index(0)) >= 3 and abs(order.index(11) - order.index(7)) >= 3
