"""Pure study design: which candidates go into which form, and in which order each reader sees them.

No Django here, so the balancing and ordering rules can be tested (and reproduced) on plain lists.
Everything is driven by `random.Random(seed)`, so a stored seed recreates the exact same plan or order.
"""

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import AppError
from readerstudy.design_strata import StratifyError, deal, stratified_samples, subgroup


class DesignError(AppError):
    """The requested design cannot be built from these candidates (the message says what is short)."""


@dataclass
class Candidate:
    """One image that may become a case. Everything except `shown_labels` stays hidden from readers."""

    image_path: Path
    source_image_id: str
    is_pie: bool
    correlation: float | None = None
    dataset: str = ""
    shown_labels: list[str] = field(default_factory=list)
    hidden_truth: dict = field(default_factory=dict)
    attributes: dict = field(default_factory=dict)  # per-image metadata (sex, age_band, view, ...): stratify_by


@dataclass
class FormPlan:
    cases: list[int]  # candidate indices, anchors included, shuffled
    repeats: list[int]  # candidate indices (a subset of cases) shown a second time as hidden repeats


@dataclass
class Plan:
    forms: list[FormPlan]
    n_pie: int
    n_non_pie: int
    anchors: list[int]
    stratified_matches: int | None = None  # non-PIEs whose label set matched a PIE's (stratified designs)
    strata: dict[str, list[int]] | None = None  # stratify_by: {subgroup: [PIEs, non-PIEs]} drawn (anchors aside)


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def stratum(candidate: Candidate) -> str:
    """The class stratum of a case: its exact set of shown labels."""
    return "|".join(sorted(candidate.shown_labels)) or "(no label)"


def plan_forms(
    candidates: Sequence[Candidate],
    *,
    n_forms: int,
    cases_per_form: int,
    pie_fraction: float,
    anchor_ids: Sequence[str] = (),
    repeat_cases: int = 0,
    stratify_by_class: bool = False,
    stratify_by: str = "",
    seed: int = 0,
) -> Plan:
    """Balanced forms: each holds exactly round(cases_per_form * pie_fraction) PIEs and the rest non-PIEs.

    Anchor cases sit in every form and count toward that form's PIE/non-PIE quota; all other cases appear
    in exactly one form. Non-PIEs are drawn at random (seeded) from all non-PIEs. With `stratify_by_class`
    PIEs are dealt to forms by label set (so forms share a class mix) and each form's non-PIEs are drawn,
    where possible, with the same label sets as its PIEs (so PIE vs non-PIE is not confounded by class).
    With `stratify_by` (a metadata attribute, see `design_strata`) the PIEs keep their subgroup shares and
    the non-PIEs are drawn in the same shares, both dealt to forms round-robin by subgroup.
    Repeats are extra hidden copies of `repeat_cases` cases per form (PIE share as in the form).
    """
    if n_forms < 1 or cases_per_form < 1:
        raise DesignError(f"Need at least 1 form and 1 case per form (got {n_forms} forms x {cases_per_form}).")
    if not 0.0 <= pie_fraction <= 1.0:
        raise DesignError(f"PIE fraction must be between 0 and 1 (got {pie_fraction}).")
    if not 0 <= repeat_cases <= cases_per_form:
        raise DesignError(f"Repeat cases must be between 0 and {cases_per_form} (got {repeat_cases}).")
    ids = [c.source_image_id for c in candidates]
    dupes = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if dupes:
        raise DesignError(f"Source image ids must be unique; repeated: {', '.join(dupes[:5])}.")
    index_of = {sid: i for i, sid in enumerate(ids)}
    missing = [a for a in anchor_ids if a not in index_of]
    if missing:
        raise DesignError(f"Anchor ids not among the candidates: {', '.join(missing[:5])}.")
    anchors = sorted({index_of[a] for a in anchor_ids}, key=lambda i: ids[i])

    n_pie = _round_half_up(cases_per_form * pie_fraction)
    n_non = cases_per_form - n_pie
    a_pie = sum(candidates[i].is_pie for i in anchors)
    a_non = len(anchors) - a_pie
    if a_pie > n_pie or a_non > n_non:
        raise DesignError(
            f"The anchor set has {a_pie} PIEs and {a_non} non-PIEs, but a form holds only {n_pie} PIEs "
            f"and {n_non} non-PIEs."
        )
    anchor_set = set(anchors)
    # Sorted by source id first, so the plan does not depend on the order candidates were passed in.
    pool_pie = sorted((i for i, c in enumerate(candidates) if c.is_pie and i not in anchor_set), key=lambda i: ids[i])
    pool_non = sorted(
        (i for i, c in enumerate(candidates) if not c.is_pie and i not in anchor_set), key=lambda i: ids[i]
    )
    need_pie, need_non = n_forms * (n_pie - a_pie), n_forms * (n_non - a_non)
    if need_pie > len(pool_pie) or need_non > len(pool_non):
        raise DesignError(
            f"{n_forms} forms x {cases_per_form} cases need {need_pie} PIEs and {need_non} non-PIEs besides the "
            f"anchors, but the selection has {len(pool_pie)} PIEs and {len(pool_non)} non-PIEs."
        )

    rng = random.Random(seed)
    k_pie, k_non = n_pie - a_pie, n_non - a_non
    try:
        pie_forms, non_forms, matches, strata = _draw_forms(
            candidates, pool_pie, pool_non, n_forms, k_pie, k_non, stratify_by_class, stratify_by, rng
        )
    except StratifyError as exc:
        raise DesignError(str(exc)) from None

    forms = []
    for f in range(n_forms):
        cases = anchors + pie_forms[f] + non_forms[f]
        rng.shuffle(cases)
        forms.append(FormPlan(cases=cases, repeats=_pick_repeats(candidates, cases, repeat_cases, rng)))
    return Plan(forms=forms, n_pie=n_pie, n_non_pie=n_non, anchors=anchors, stratified_matches=matches, strata=strata)


def _draw_forms(candidates, pool_pie, pool_non, n_forms, k_pie, k_non, stratify_by_class, stratify_by, rng):
    """(PIEs per form, non-PIEs per form, class-matched non-PIEs or None, subgroup strata or None)."""
    if stratify_by and stratify_by_class:
        raise StratifyError("Stratify by class or by a subgroup attribute, not both.")
    if stratify_by:
        pies, nons, strata = stratified_samples(
            candidates, pool_pie, pool_non, n_forms * k_pie, n_forms * k_non, stratify_by, rng
        )

        def by_group(i: int) -> str:
            return subgroup(candidates[i], stratify_by)

        return deal(pies, n_forms, by_group), deal(nons, n_forms, by_group), None, strata
    pies = rng.sample(pool_pie, n_forms * k_pie)
    if stratify_by_class:
        # Deal PIEs by stratum round-robin so every form gets a similar class mix.
        rng.shuffle(pies)
        pies.sort(key=lambda i: stratum(candidates[i]))
        pie_forms = [pies[f::n_forms] for f in range(n_forms)]
        non_forms, matches = _matched_non_pies(candidates, pie_forms, pool_non, k_non, rng)
        return pie_forms, non_forms, matches, None
    nons = rng.sample(pool_non, n_forms * k_non)
    pie_forms = [pies[f * k_pie : (f + 1) * k_pie] for f in range(n_forms)]
    non_forms = [nons[f * k_non : (f + 1) * k_non] for f in range(n_forms)]
    return pie_forms, non_forms, None, None


def _matched_non_pies(candidates, pie_forms, pool_non, k_non, rng) -> tuple[list[list[int]], int]:
    by_stratum: dict[str, list[int]] = {}
    shuffled = list(pool_non)
    rng.shuffle(shuffled)
    for i in shuffled:
        by_stratum.setdefault(stratum(candidates[i]), []).append(i)
    used: set[int] = set()
    forms, matches = [], 0
    for pie_form in pie_forms:
        targets = [stratum(candidates[i]) for i in pie_form] or ["(no label)"]
        chosen = []
        for t in range(k_non):
            bucket = by_stratum.get(targets[t % len(targets)], [])
            while bucket and bucket[-1] in used:
                bucket.pop()
            if bucket:
                chosen.append(bucket.pop())
                used.add(chosen[-1])
                matches += 1
        forms.append(chosen)
    # Fill what no stratum could match with random leftovers (same rng, so still reproducible).
    leftovers = [i for i in shuffled if i not in used]
    for chosen in forms:
        while len(chosen) < k_non:
            chosen.append(leftovers.pop())
    return forms, matches


def _pick_repeats(candidates, cases: list[int], repeat_cases: int, rng: random.Random) -> list[int]:
    if not repeat_cases:
        return []
    pies = sorted(i for i in cases if candidates[i].is_pie)
    nons = sorted(i for i in cases if not candidates[i].is_pie)
    r_pie = min(len(pies), _round_half_up(repeat_cases * len(pies) / len(cases)))
    r_non = min(len(nons), repeat_cases - r_pie)
    r_pie = repeat_cases - r_non
    return rng.sample(pies, r_pie) + rng.sample(nons, r_non)


def longest_run(flags: Sequence[bool]) -> int:
    best = run = 0
    for k, flag in enumerate(flags):
        run = run + 1 if k and flag == flags[k - 1] else 1
        best = max(best, run)
    return best


def max_allowed_run(n_pie: int, n_non: int) -> int:
    """Longest stretch of same-status cases an order may contain (never below the unavoidable minimum)."""
    big, small = max(n_pie, n_non), min(n_pie, n_non)
    return max(5, 2 * math.ceil(big / (small + 1)))


def repeat_min_gap(n: int, n_repeats: int, n_originals: int | None = None) -> int:
    """How many positions a hidden repeat sits at least after its original in an order of `n` cases.

    A quarter of the form (at least 2), less only where the form is too full of repeats to allow it: the
    `n_originals` repeated cases (one per repeat unless given) must fit before the last gap-1 slots of the
    n - n_repeats cases that are not repeats."""
    n_originals = n_repeats if n_originals is None else n_originals
    return max(1, min(max(2, n // 4), n - n_repeats - n_originals + 1))


def presentation_order(
    case_ids: Sequence[int],
    seed: int,
    *,
    is_pie: Mapping[int, bool],
    repeat_of: Mapping[int, int] | None = None,
    max_attempts: int = 2000,
) -> list[int]:
    """A reader's order of a form's cases: a seeded shuffle that never groups PIEs.

    Every hidden repeat comes after its original, at least `repeat_min_gap` positions later, by
    construction: the other cases are shuffled, originals are kept out of the last slots, and each repeat is
    inserted at a random place far enough after its original (an insertion never shortens another pair's
    gap). Such orders are drawn from `random.Random(seed)` until one has no run of same-PIE-status cases
    longer than `max_allowed_run` (else the one with the shortest run). The same (case ids, seed) always
    gives the same order, so the stored seed recreates it.
    """
    base_ids = sorted(case_ids)
    present = set(base_ids)
    pairs = sorted((r, o) for r, o in (repeat_of or {}).items() if r in present and o in present and r != o)
    repeats = {r for r, _ in pairs}
    base = [c for c in base_ids if c not in repeats]
    n = len(base_ids)
    n_pie = sum(bool(is_pie[c]) for c in base_ids)
    limit = max_allowed_run(n_pie, n - n_pie)
    gap = repeat_min_gap(n, len(pairs), len({o for _, o in pairs}))
    rng = random.Random(seed)
    best, best_run = None, None
    for _ in range(max_attempts):
        order = _order_with_repeats(base, pairs, gap, rng)
        run = longest_run([bool(is_pie[c]) for c in order])
        if run <= limit:
            return order
        if best_run is None or run < best_run:
            best, best_run = order, run
    return best if best is not None else []


def _order_with_repeats(base: list[int], pairs: list[tuple[int, int]], gap: int, rng: random.Random) -> list[int]:
    order = list(base)
    rng.shuffle(order)
    originals = {o for _, o in pairs}
    # No original in the last gap-1 slots, so each repeat has room at least `gap` after it: swap any there
    # with a randomly chosen non-original further up.
    head = len(order) - gap + 1
    free = [k for k in range(head) if order[k] not in originals]
    rng.shuffle(free)
    for k in range(max(head, 0), len(order)):
        if order[k] in originals:
            j = free.pop()
            order[k], order[j] = order[j], order[k]
    for repeat, original in rng.sample(pairs, len(pairs)):
        p = order.index(original)
        order.insert(rng.randint(p + gap, len(order)), repeat)
    return order
