"""Form balancing and presentation order (pure functions, no database)."""

from collections import Counter
from pathlib import Path

import pytest

from readerstudy.design import (
    Candidate,
    DesignError,
    longest_run,
    max_allowed_run,
    plan_forms,
    presentation_order,
    stratum,
)

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


# --- Known answers and boundaries (each pins a rule a plausible slip would break) -------------------------


def cands(pie_labels, non_labels):
    """Candidates without image files (the design never opens them): one per label list, PIEs first."""
    rows = [(True, labels) for labels in pie_labels] + [(False, labels) for labels in non_labels]
    return [
        Candidate(image_path=Path(f"c{k:02d}.png"), source_image_id=f"c{k:02d}", is_pie=pie, shown_labels=list(labels))
        for k, (pie, labels) in enumerate(rows)
    ]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], 0),
        ([True], 1),
        ([True, False, True, False], 1),
        ([True, True], 2),
        ([False, False, False], 3),
        ([True, True, False, False, False, True], 3),
        ([False, True, True, True, True, False, False], 4),
    ],
)
def test_longest_run_known_answers(flags, expected):
    assert longest_run(flags) == expected


@pytest.mark.parametrize(
    ("n_pie", "n_non", "expected"),
    [
        (20, 20, 5),  # 2 * ceil(20 / 21) = 2: never below 5
        (30, 10, 6),  # 2 * ceil(30 / 11) = 6
        (10, 30, 6),  # symmetric in the two statuses
        (40, 2, 28),  # 2 * ceil(40 / 3) = 28
        (7, 0, 14),  # one status only: 2 * 7
    ],
)
def test_max_allowed_run_known_answers(n_pie, n_non, expected):
    assert max_allowed_run(n_pie, n_non) == expected


def test_stratum_is_the_sorted_label_set_joined_by_a_bar_or_no_label():
    assert stratum(cands([["Nodule", "Effusion"]], [])[0]) == "Effusion|Nodule"
    assert stratum(cands([[]], [])[0]) == "(no label)"


def test_plan_defaults_are_no_repeats_no_stratification_and_seed_zero():
    pool = cands([["A"]] * 4, [["A"]] * 4)
    plan = plan_forms(pool, n_forms=2, cases_per_form=4, pie_fraction=0.5)
    assert all(form.repeats == [] for form in plan.forms)
    assert plan.stratified_matches is None
    assert plan == plan_forms(pool, n_forms=2, cases_per_form=4, pie_fraction=0.5, seed=0, repeat_cases=0)
    assert plan != plan_forms(pool, n_forms=2, cases_per_form=4, pie_fraction=0.5, seed=1)


def test_plan_reports_its_quota_and_its_anchors_sorted_by_source_id():
    pool = list(reversed(cands([["A"]] * 3, [["A"]] * 3)))  # index order is the reverse of id order
    plan = plan_forms(pool, n_forms=1, cases_per_form=5, pie_fraction=0.6, anchor_ids=["c04", "c01"])
    assert (plan.n_pie, plan.n_non_pie) == (3, 2)  # round_half_up(5 * 0.6) = 3
    assert [pool[i].source_image_id for i in plan.anchors] == ["c01", "c04"]


@pytest.mark.parametrize(("fraction", "n_pie"), [(0.0, 0), (1.0, 4)])
def test_pie_fraction_may_be_exactly_zero_or_one(fraction, n_pie):
    pool = cands([["A"]] * 4, [["A"]] * 4)
    plan = plan_forms(pool, n_forms=1, cases_per_form=4, pie_fraction=fraction)
    assert sum(pool[i].is_pie for i in plan.forms[0].cases) == n_pie == plan.n_pie


@pytest.mark.parametrize("fraction", [-0.01, 1.01, 1.5])
def test_pie_fraction_outside_zero_to_one_is_refused(fraction):
    with pytest.raises(DesignError, match=r"PIE fraction must be between 0 and 1"):
        plan_forms(cands([["A"]] * 4, [["A"]] * 4), n_forms=1, cases_per_form=2, pie_fraction=fraction)


def test_one_form_of_one_case_is_the_smallest_design():
    plan = plan_forms(cands([["A"]], []), n_forms=1, cases_per_form=1, pie_fraction=1.0)
    assert [f.cases for f in plan.forms] == [[0]]


@pytest.mark.parametrize(("n_forms", "per_form"), [(0, 4), (1, 0), (0, 0)])
def test_no_forms_or_no_cases_is_refused(n_forms, per_form):
    with pytest.raises(DesignError, match=r"Need at least 1 form and 1 case per form"):
        plan_forms(cands([["A"]] * 4, [["A"]] * 4), n_forms=n_forms, cases_per_form=per_form, pie_fraction=0.5)


def test_every_case_of_a_form_may_be_repeated_but_not_more():
    pool = cands([["A"]] * 2, [["A"]] * 2)
    plan = plan_forms(pool, n_forms=1, cases_per_form=4, pie_fraction=0.5, repeat_cases=4)
    assert sorted(plan.forms[0].repeats) == [0, 1, 2, 3]
    with pytest.raises(DesignError, match=r"Repeat cases must be between 0 and 4 \(got 5\)"):
        plan_forms(pool, n_forms=1, cases_per_form=4, pie_fraction=0.5, repeat_cases=5)


def test_duplicate_and_unknown_ids_are_named_five_at_most_in_id_order():
    pool = cands([["A"]] * 8, [])
    dupes = [Candidate(Path("x.png"), c.source_image_id, False) for c in reversed(pool[:7])]
    with pytest.raises(DesignError, match=r"repeated: c00, c01, c02, c03, c04\.$"):
        plan_forms(pool + dupes, n_forms=1, cases_per_form=1, pie_fraction=1.0)
    with pytest.raises(DesignError, match=r"repeated: c03, c05\.$"):
        plan_forms(pool + [dupes[-4], dupes[-6]], n_forms=1, cases_per_form=1, pie_fraction=1.0)
    missing = ["z6", "z5", "z4", "z3", "z2", "z1"]
    with pytest.raises(DesignError, match=r"candidates: z6, z5, z4, z3, z2\.$"):
        plan_forms(pool, n_forms=1, cases_per_form=1, pie_fraction=1.0, anchor_ids=missing)


def test_anchor_set_that_exactly_fills_a_form_is_accepted():
    pool = cands([["A"]] * 3, [["A"]] * 3)
    plan = plan_forms(pool, n_forms=2, cases_per_form=2, pie_fraction=0.5, anchor_ids=["c00", "c03"])
    assert [sorted(f.cases) for f in plan.forms] == [[0, 3], [0, 3]]


def test_a_pool_that_exactly_covers_the_forms_besides_the_anchors_is_enough():
    # 2 forms x (2 PIEs + 2 non-PIEs); one anchor of each kind; 2 more of each kind needed, 2 available.
    pool = cands([["A"]] * 3, [["A"]] * 3)
    plan = plan_forms(pool, n_forms=2, cases_per_form=4, pie_fraction=0.5, anchor_ids=["c00", "c03"])
    assert sorted(i for f in plan.forms for i in f.cases) == [0, 0, 1, 2, 3, 3, 4, 5]
    with pytest.raises(DesignError, match=r"need 2 PIEs and 2 non-PIEs besides the anchors.*has 2 PIEs and 1 non"):
        plan_forms(pool[:5], n_forms=2, cases_per_form=4, pie_fraction=0.5, anchor_ids=["c00", "c03"])


def test_stratified_forms_each_get_the_same_pie_class_mix():
    # PIE labels alternate A, B by index, so dealing by index (not by stratum) would give one form all A.
    pool = cands([["A"], ["B"]] * 4, [["A"], ["B"]] * 4)
    plan = plan_forms(pool, n_forms=2, cases_per_form=8, pie_fraction=0.5, stratify_by_class=True, seed=3)
    for form in plan.forms:
        assert Counter(stratum(pool[i]) for i in form.cases if pool[i].is_pie) == {"A": 2, "B": 2}


def test_stratified_forms_count_anchor_non_pies_toward_the_quota():
    pool = cands([["A"]] * 5, [["A"]] * 5)
    plan = plan_forms(pool, n_forms=2, cases_per_form=4, pie_fraction=0.5, anchor_ids=["c05"], stratify_by_class=True)
    for form in plan.forms:
        assert sorted(pool[i].is_pie for i in form.cases) == [False, False, True, True]


def test_stratified_matching_fills_unmatched_slots_with_distinct_leftovers():
    # Every PIE is "A" but only one non-PIE is: one match, then the three "B" non-PIEs, none used twice.
    pool = cands([["A"]] * 4, [["A"]] + [["B"]] * 3)
    for seed in range(6):
        plan = plan_forms(pool, n_forms=2, cases_per_form=4, pie_fraction=0.5, stratify_by_class=True, seed=seed)
        assert plan.stratified_matches == 1
        nons = [i for f in plan.forms for i in f.cases if not pool[i].is_pie]
        assert sorted(nons) == [4, 5, 6, 7]
        assert all(sum(not pool[i].is_pie for i in f.cases) == 2 for f in plan.forms)


def test_stratified_forms_without_pies_match_unlabelled_non_pies():
    pool = cands([], [["B"]] * 4 + [[]] * 4)
    plan = plan_forms(pool, n_forms=2, cases_per_form=2, pie_fraction=0.0, stratify_by_class=True, seed=2)
    assert plan.stratified_matches == 4
    assert sorted(i for f in plan.forms for i in f.cases) == [4, 5, 6, 7]


def test_a_run_as_long_as_the_limit_is_allowed():
    # 20 + 20 cases: limit 5. A shuffle may contain a run of exactly 5; the limit is not exclusive.
    ids = list(range(40))
    flags = {i: i < 20 for i in ids}
    runs = {longest_run([flags[i] for i in presentation_order(ids, seed, is_pie=flags)]) for seed in range(60)}
    assert max(runs) == 5


def test_a_repeat_may_sit_exactly_a_quarter_of_the_form_away():
    # 10 cases: the gap must be >= 10 // 4 = 2, so a gap of exactly 2 is allowed (and happens).
    ids = list(range(10))
    flags = {i: i < 5 for i in ids}
    gaps = set()
    for seed in range(60):
        order = presentation_order(ids, seed, is_pie=flags, repeat_of={9: 0})
        gaps.add(abs(order.index(9) - order.index(0)))
    assert min(gaps) == 2


def test_in_a_three_case_form_a_repeat_is_never_next_to_its_original():
    for seed in range(20):
        order = presentation_order([0, 1, 2], seed, is_pie={0: True, 1: False, 2: True}, repeat_of={2: 0})
        assert abs(order.index(2) - order.index(0)) == 2


def test_repeat_pairs_outside_the_form_are_ignored():
    order = presentation_order([0, 1, 2, 3], 5, is_pie={0: True, 1: True, 2: False, 3: False}, repeat_of={99: 0})
    assert sorted(order) == [0, 1, 2, 3]


def test_a_form_too_full_of_repeats_gets_the_widest_gap_that_fits_and_every_repeat_after_its_original():
    # 12 cases, 10 of them repeats of case 0: the widest possible gap is 2 (case 0, case 11, then repeats).
    ids = list(range(12))
    flags = dict.fromkeys(ids, True)
    for seed in range(3):
        order = presentation_order(ids, seed, is_pie=flags, repeat_of={k: 0 for k in range(1, 11)})
        assert min(order.index(k) - order.index(0) for k in range(1, 11)) == 2


def test_repeats_of_one_case_follow_it_and_pie_runs_stay_within_the_limit():
    flags = {0: True, 1: True, 2: False, 3: False}
    for seed in range(5):
        order = presentation_order([0, 1, 2, 3], seed, is_pie=flags, repeat_of={1: 0, 2: 0, 3: 0})
        assert order[0] == 0 and longest_run([flags[i] for i in order]) <= max_allowed_run(2, 2)


def test_when_no_order_meets_the_limit_the_first_of_2000_draws_with_the_shortest_run_is_kept(monkeypatch):
    # Every draw "fails" the limit with the same run: the default budget is 2000 draws, and among equally
    # long runs the earliest draw is kept, i.e. the order max_attempts=1 gives for this seed.
    import readerstudy.design as design

    calls = []
    monkeypatch.setattr(design, "longest_run", lambda flags: calls.append(1) or 10**6)
    ids, flags = list(range(10)), {i: i < 5 for i in range(10)}
    first_draw = presentation_order(ids, 7, is_pie=flags, max_attempts=1)
    calls.clear()
    order = presentation_order(ids, 7, is_pie=flags)
    assert len(calls) == 2000
    assert order == first_draw and sorted(order) == ids


def test_no_attempt_at_all_gives_an_empty_order():
    assert presentation_order(list(range(6)), 1, is_pie={i: i < 3 for i in range(6)}, max_attempts=0) == []
