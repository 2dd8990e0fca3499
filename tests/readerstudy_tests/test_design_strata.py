"""Reader study sampling stratified by a subgroup attribute (issue 20): known answers on a hand-built case
table, a property test of sizes and strata mix, the errors, and the New-study form."""

from collections import Counter
from pathlib import Path

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.metadata import NA
from readerstudy.design import Candidate, DesignError, plan_forms
from readerstudy.design_strata import allocate, subgroup


def _table(rows: list[tuple[bool, str | None]]) -> list[Candidate]:
    """Candidates from (is_pie, view) rows; view None: the attribute is absent (not available)."""
    return [
        Candidate(
            image_path=Path(f"/nowhere/{k}.png"),
            source_image_id=f"img{k:04d}",
            is_pie=pie,
            attributes={} if view is None else {"view": view, "sex": "F" if k % 2 else "M"},
        )
        for k, (pie, view) in enumerate(rows)
    ]


# 10 PIEs: 6 AP, 3 PA, 1 without a view; 50 non-PIEs: 20 AP, 20 PA, 5 blank, 5 absent.
HAND = [(True, "AP")] * 6 + [(True, "PA")] * 3 + [(True, None)]
HAND += [(False, "AP")] * 20 + [(False, "PA")] * 20 + [(False, "")] * 5 + [(False, None)] * 5


def _drawn(plan, cands, attribute="view") -> tuple[Counter, Counter]:
    drawn = [i for f in plan.forms for i in f.cases]
    pie = Counter(subgroup(cands[i], attribute) for i in drawn if cands[i].is_pie)
    non = Counter(subgroup(cands[i], attribute) for i in drawn if not cands[i].is_pie)
    return pie, non


def test_allocation_is_largest_remainder_with_ties_by_name():
    assert allocate({"AP": 6, "PA": 3, NA: 1}, 10) == {"AP": 6, "PA": 3, NA: 1}
    # exact 3, 1.5, 0.5: one seat left, PA and "not available" tie on 0.5, "PA" sorts first
    assert allocate({"AP": 6, "PA": 3, NA: 1}, 5) == {"AP": 3, "PA": 2, NA: 0}
    assert allocate({"a": 1, "b": 1, "c": 1}, 2) == {"a": 1, "b": 1, "c": 0}
    assert allocate({"a": 2, "b": 0}, 0) == {"a": 0, "b": 0}


def test_known_answer_every_pie_drawn_and_non_pies_in_the_same_view_mix():
    cands = _table(HAND)
    plan = plan_forms(cands, n_forms=2, cases_per_form=10, pie_fraction=0.5, stratify_by="view", seed=3)
    assert plan.strata == {"AP": [6, 6], "PA": [3, 3], NA: [1, 1]}
    pie, non = _drawn(plan, cands)
    assert pie == non == Counter({"AP": 6, "PA": 3, NA: 1})
    # dealt round-robin by view: each form's PIEs and non-PIEs have the same mix too
    for form in plan.forms:
        f_pie = Counter(subgroup(cands[i], "view") for i in form.cases if cands[i].is_pie)
        f_non = Counter(subgroup(cands[i], "view") for i in form.cases if not cands[i].is_pie)
        assert f_pie == f_non and sum(f_pie.values()) == 5


def test_known_answer_rounded_shares_and_a_blank_value_is_not_available():
    cands = _table(HAND)
    plan = plan_forms(cands, n_forms=1, cases_per_form=10, pie_fraction=0.5, stratify_by="view", seed=0)
    assert plan.strata == {"AP": [3, 3], "PA": [2, 2]}
    # unequal sizes: 2 PIEs and 8 non-PIEs, each in the PIEs' shares 0.6 / 0.3 / 0.1
    plan = plan_forms(cands, n_forms=1, cases_per_form=10, pie_fraction=0.2, stratify_by="view", seed=0)
    assert plan.strata == {"AP": [1, 5], "PA": [1, 2], NA: [0, 1]}
    assert subgroup(cands[-6], "view") == NA and subgroup(cands[-1], "view") == NA  # blank, absent


def test_unknown_attribute_and_a_short_stratum_are_clear_errors():
    cands = _table(HAND)
    with pytest.raises(DesignError, match=r"Unknown attribute 'race'.*have: sex, view"):
        plan_forms(cands, n_forms=1, cases_per_form=10, pie_fraction=0.5, stratify_by="race")
    short = _table([(True, "AP")] * 8 + [(False, "AP")] * 2 + [(False, "PA")] * 10)
    with pytest.raises(DesignError, match=r"view = 'AP' needs 8 non-PIEs but has 2"):
        plan_forms(short, n_forms=1, cases_per_form=16, pie_fraction=0.5, stratify_by="view")
    with pytest.raises(DesignError, match="not both"):
        plan_forms(cands, n_forms=1, cases_per_form=4, pie_fraction=0.5, stratify_by="view", stratify_by_class=True)


def test_without_stratify_by_the_plan_is_unchanged():
    cands = _table(HAND)
    a = plan_forms(cands, n_forms=2, cases_per_form=8, pie_fraction=0.5, seed=5)
    b = plan_forms(cands, n_forms=2, cases_per_form=8, pie_fraction=0.5, seed=5, stratify_by="")
    assert [f.cases for f in a.forms] == [f.cases for f in b.forms] and a.strata is None


rows = st.lists(st.tuples(st.booleans(), st.sampled_from(["AP", "PA", "LL", "", None])), min_size=4, max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows, st.integers(1, 4), st.integers(1, 12), st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), st.integers(0, 99))
def test_sampled_sets_have_the_requested_sizes_and_the_pies_strata_mix(table, n_forms, per_form, fraction, seed):
    cands = _table(table)
    pool_pie = Counter(subgroup(c, "view") for c in cands if c.is_pie)
    pool_non = Counter(subgroup(c, "view") for c in cands if not c.is_pie)
    n_pie = int(per_form * fraction + 0.5)
    need_pie, need_non = n_forms * n_pie, n_forms * (per_form - n_pie)
    try:
        plan = plan_forms(
            cands, n_forms=n_forms, cases_per_form=per_form, pie_fraction=fraction, stratify_by="view", seed=seed
        )
    except DesignError as exc:
        known = any(subgroup(c, "view") != NA for c in cands)  # no image with a view: "Unknown attribute 'view'"
        too_few = need_pie > sum(pool_pie.values()) or need_non > sum(pool_non.values())
        no_pies = not pool_pie and need_non > 0
        assert too_few or not known or no_pies or "Not enough cases to stratify by 'view'" in str(exc)
        if "Not enough" in str(exc):  # then some stratum really is short
            want = allocate(dict(pool_pie), need_non)
            assert any(want[s] > pool_non[s] for s in want)
        return
    for form in plan.forms:
        assert sum(cands[i].is_pie for i in form.cases) == n_pie and len(form.cases) == per_form
    pie, non = _drawn(plan, cands)
    assert sum(pie.values()) == need_pie and sum(non.values()) == need_non
    total = sum(pool_pie.values())
    for s in set(pie) | set(non):
        assert pool_pie[s] > 0  # only the PIEs' strata are drawn
        # each sample's count is within one of the exact proportional share of the PIEs' mix
        assert abs(pie[s] - need_pie * pool_pie[s] / total) < 1
        assert abs(non[s] - need_non * pool_pie[s] / total) < 1
    assert plan.strata == {s: [pie[s], non[s]] for s in sorted(set(pie) | set(non))}


@pytest.mark.django_db
def test_the_new_study_form_offers_stratify_by_and_the_design_records_the_strata(
    artifacts, admin_client_, monkeypatch, reader_a, tmp_path
):
    from readerstudy import sources
    from readerstudy.models import Study

    from .factories import make_candidates

    cands = make_candidates(tmp_path / "src", n_pie=6, n_non=12)
    for k, c in enumerate(cands):
        c.attributes = {"view": "AP" if k % 3 == 0 else "PA"} if k % 5 else {}
    monkeypatch.setattr(sources, "pie_selection_choices", lambda: [("7", "selection 7")])
    monkeypatch.setattr(sources, "candidates_from_pie_selection", lambda v: (cands, {"kind": "pie_selection"}))
    fields = {
        "source": "selection", "sel-selection": "7", "sel-title": "Strata", "sel-n_forms": 2,
        "sel-cases_per_form": 6, "sel-pie_fraction": 0.5, "sel-readers_per_form": 1, "sel-repeat_cases": 0,
        "sel-seed": 1, "sel-readers": [reader_a.pk],
    }  # fmt: skip
    page = admin_client_.get(reverse("readerstudy:new"))
    assert b'name="sel-stratify_by"' in page.content
    r = admin_client_.post(reverse("readerstudy:new"), {**fields, "sel-stratify_by": "age_band"})
    assert r.status_code == 400 and b"Unknown attribute &#x27;age_band&#x27;" in r.content
    r = admin_client_.post(reverse("readerstudy:new"), {**fields, "sel-stratify_by": "view"})
    assert r.status_code == 302, r.content.decode()[:2000]
    design = Study.objects.get(title="Strata").design
    pies = Counter(subgroup(c, "view") for c in cands if c.is_pie)  # all 6 PIEs drawn: AP 2, PA 2, NA 2
    assert design["stratify_by"] == "view" and design["strata"] == {s: [n, n] for s, n in sorted(pies.items())}


def test_pie_selection_candidates_carry_the_synthetic_sets_metadata(tmp_path):
    import pandas as pd

    from pruning.engine.synthetic import make_synthetic
    from pruning.readerstudy_source import _attributes

    make_synthetic(tmp_path, 12, size=32, seed=5, lung_masks=False)
    meta = pd.read_csv(tmp_path / "metadata.csv", dtype=str, keep_default_na=False)
    ids = [*meta["id"].head(3), "not-an-image"]
    got = _attributes({"kind": "synthetic", "root": str(tmp_path)}, ids)
    assert got[ids[0]]["view"] == meta["view"].iloc[0] and got[ids[0]]["sex"] in ("F", "M", NA)
    assert set(got[ids[0]]) == {"sex", "age_band", "view"}  # the patient id is not a stratum
    assert got["not-an-image"] == {"sex": NA, "age_band": NA, "view": NA}
