"""Property tests (hypothesis) of the presentation order: for any form (cases, PIE mix, hidden repeats) and
any seed, every hidden repeat comes after its original with at least the minimum gap, the order is a
permutation of the form, and the same seed gives the same order."""

from hypothesis import given, settings
from hypothesis import strategies as st

from readerstudy.design import longest_run, max_allowed_run, presentation_order, repeat_min_gap


@st.composite
def forms(draw):
    n_originals = draw(st.integers(min_value=1, max_value=48))
    is_pie = {c: draw(st.booleans()) for c in range(n_originals)}
    repeated = draw(st.lists(st.sampled_from(range(n_originals)), unique=True, max_size=n_originals))
    repeat_of = {}
    for k, original in enumerate(repeated):
        repeat = 1000 + k
        repeat_of[repeat] = original
        is_pie[repeat] = is_pie[original]  # a repeat is the same image, so the same status
    ids = list(is_pie)
    draw(st.randoms()).shuffle(ids)  # the caller's order must not matter
    return ids, is_pie, repeat_of


@settings(max_examples=300, deadline=None)
@given(form=forms(), seed=st.integers(min_value=0, max_value=2**62))
def test_every_hidden_repeat_comes_after_its_original_with_at_least_the_minimum_gap(form, seed):
    ids, is_pie, repeat_of = form
    order = presentation_order(ids, seed, is_pie=is_pie, repeat_of=repeat_of, max_attempts=50)
    assert sorted(order) == sorted(ids)
    pos = {c: k for k, c in enumerate(order)}
    gap = repeat_min_gap(len(ids), len(repeat_of), len(set(repeat_of.values())))
    for repeat, original in repeat_of.items():
        assert pos[repeat] - pos[original] >= gap, (repeat, original, order)
    assert order == presentation_order(list(reversed(ids)), seed, is_pie=is_pie, repeat_of=repeat_of, max_attempts=50)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**62))
def test_a_demo_sized_form_gets_a_quarter_form_gap_and_no_long_pie_run(seed):
    # 40 cases (20 PIEs) and 8 hidden repeats, as in the demo: gap 48 // 4 = 12, runs of at most 5.
    is_pie = {c: c < 20 for c in range(40)}
    repeat_of = {100 + k: o for k, o in enumerate([0, 5, 10, 15, 20, 25, 30, 35])}
    is_pie |= {r: is_pie[o] for r, o in repeat_of.items()}
    order = presentation_order(list(is_pie), seed, is_pie=is_pie, repeat_of=repeat_of)
    pos = {c: k for k, c in enumerate(order)}
    assert repeat_min_gap(48, 8) == 12
    assert min(pos[r] - pos[o] for r, o in repeat_of.items()) >= 12
    assert longest_run([is_pie[c] for c in order]) <= max_allowed_run(24, 24) == 5


def test_the_minimum_gap_is_a_quarter_form_unless_the_form_is_too_full_of_repeats():
    assert repeat_min_gap(48, 8) == 12
    assert repeat_min_gap(6, 1) == 2
    assert repeat_min_gap(6, 3) == 1  # three cases shown twice: each repeat can only follow its original
    assert repeat_min_gap(2, 1) == 1
    assert repeat_min_gap(100, 10) == 25
