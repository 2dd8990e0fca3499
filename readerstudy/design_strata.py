"""Subgroup-stratified PIE / non-PIE sampling for a reader study (issue 20), pure like `design`.

With `stratify_by` (an attribute of the images' metadata: sex, age_band, view or a user column) the PIEs
are drawn so that their strata keep their share among all PIEs, and the non-PIEs are drawn with the same
strata shares. Then "PIE vs non-PIE" in the readers' answers is not confounded by the subgroup (e.g. more
portable AP films among PIEs). A missing or blank value is its own stratum, "not available".

Counts per stratum come from a largest-remainder allocation of the share among all PIEs, so they sum to
the requested size exactly and two samples of the same size get identical counts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from common.errors import AppError
from common.metadata import NA

# The attributes every dataset can carry (common.metadata.ATTRIBUTES); user columns come with the metadata.
STANDARD_ATTRIBUTES = ("sex", "age_band", "view")
_BLANK = {"", "nan", "none", "null", NA}


class StratifyError(AppError):
    """The stratified sample cannot be drawn (`design.plan_forms` raises it as a DesignError)."""


def _values(candidate) -> dict:
    # The metadata first; an uploaded CSV's extra columns (sex, view, ...) arrive as hidden attributes.
    return {**(candidate.hidden_truth or {}), **(candidate.attributes or {})}


def subgroup(candidate, attribute: str) -> str:
    """The candidate's value of `attribute`; missing or blank is "not available" (its own stratum)."""
    value = str(_values(candidate).get(attribute, "")).strip()
    return NA if value.lower() in _BLANK else value


def known_attributes(candidates: Sequence) -> list[str]:
    """Attributes at least one candidate carries a value for (standard ones first)."""
    seen = {a for c in candidates for a in _values(c) if subgroup(c, a) != NA}
    return [a for a in STANDARD_ATTRIBUTES if a in seen] + sorted(seen - set(STANDARD_ATTRIBUTES))


def allocate(shares: dict[str, int], total: int) -> dict[str, int]:
    """Split `total` over the strata in proportion to `shares` (largest remainder; ties by stratum name)."""
    weight = sum(shares.values())
    if total == 0 or weight == 0:
        return dict.fromkeys(shares, 0)
    exact = {s: total * n / weight for s, n in shares.items()}
    counts = {s: int(x) for s, x in exact.items()}
    left = total - sum(counts.values())
    for s in sorted(exact, key=lambda s: (-(exact[s] - counts[s]), s))[:left]:
        counts[s] += 1
    return counts


def stratified_samples(candidates, pool_pie, pool_non, need_pie, need_non, attribute, rng: random.Random):
    """(PIE indices, non-PIE indices, {stratum: [n PIEs, n non-PIEs]}), each sample in the PIEs' strata mix.

    Raises StratifyError naming the attribute when it is unknown, and the stratum when it is short of cases.
    """
    known = known_attributes(candidates)
    if attribute not in known:
        have = ", ".join(known) or "none (these images carry no metadata)"
        raise StratifyError(f"Unknown attribute {attribute!r} to stratify by; these images have: {have}.")
    pies_by, nons_by = _by_stratum(candidates, pool_pie, attribute), _by_stratum(candidates, pool_non, attribute)
    shares = {s: len(v) for s, v in pies_by.items()}
    if not shares and need_non:
        raise StratifyError(f"No PIEs to take the {attribute} mix from: stratify only a study that has PIEs.")
    want_pie, want_non = allocate(shares, need_pie), allocate(shares, need_non)
    short = [
        f"{attribute} = {s!r} needs {want_non[s]} non-PIEs but has {len(nons_by.get(s, []))}"
        for s in sorted(shares)
        if want_non[s] > len(nons_by.get(s, []))
    ]
    if short:
        raise StratifyError(
            f"Not enough cases to stratify by {attribute!r} (non-PIEs drawn in the PIEs' {attribute} mix): "
            + "; ".join(short)
            + ". Ask for fewer cases, or do not stratify."
        )
    pies, nons = [], []
    for s in sorted(shares):
        pies += rng.sample(pies_by[s], want_pie[s])
        nons += rng.sample(nons_by.get(s, []), want_non[s])
    strata = {s: [want_pie[s], want_non[s]] for s in sorted(shares) if want_pie[s] or want_non[s]}
    return pies, nons, strata


def deal(indices: list[int], n_forms: int, key) -> list[list[int]]:
    """Deal `indices` (grouped by `key`) round-robin over the forms, so every form gets a similar mix."""
    ordered = sorted(indices, key=key)
    return [ordered[f::n_forms] for f in range(n_forms)]  # len(indices) == n_forms * per_form: even forms


def _by_stratum(candidates, pool: Sequence[int], attribute: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i in pool:  # pool is sorted by source id, so the draw does not depend on the candidates' order
        out.setdefault(subgroup(candidates[i], attribute), []).append(i)
    return out
