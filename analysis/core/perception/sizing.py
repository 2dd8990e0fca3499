"""Study sizing: simulated power over a grid of readers x cases, and the smallest design with enough power.

Two analyses, each simulated from typed-in variance components (or a pilot study's estimates):

- ``pie``: the PIE test the statistics page publishes, the odds ratio with reader fixed effects and its two-way
  (reader and case) cluster-robust Wald p (t, readers - 1 df), on studies from simulate.py's reader model
  (sizing_pie.py);
- ``mrmc_auc``: an Obuchowski-Rockette comparison of two modalities' empirical AUCs (DeLong covariance, Hillis
  ddf; mrmc.py) on studies simulated from the Roe-Metz model with iMRMC's default components (roemetz.py).

"Smallest" means fewest readings (readers x cases each reader reads), then fewest readers: the cost of a
reader study is mostly reading time. Every grid cell draws from its own generator seeded by (seed, analysis,
readers, cases), so a cell's power does not depend on which other cells were asked for, and the same seed
gives the same table. The Monte Carlo SE of a power p from n simulations is sqrt(p (1 - p) / n).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from analysis.core.perception.delong import components, delong_cov
from analysis.core.perception.mrmc import or_components
from analysis.core.perception.roemetz import RoeMetz, simulate_roemetz
from analysis.core.perception.sizing_pie import TEST, PieModel, pie_power

ANALYSES = ("pie", "mrmc_auc")
TARGET = 0.8


@dataclass
class SizingRequest:
    readers: Sequence[int] = (3, 6, 9)
    cases: Sequence[int] = (40, 80, 120)
    analyses: Sequence[str] = ANALYSES
    n_sim: int = 200
    seed: int = 0
    alpha: float = 0.05
    target: float = TARGET
    cases_per_form: int = 0  # 0: every reader reads every case; else forms (split-plot) of this many cases
    pie: PieModel = field(default_factory=PieModel)
    roemetz: RoeMetz = field(default_factory=lambda: RoeMetz(delta=0.5))
    positive_fraction: float = 0.5  # share of positive cases in the MRMC AUC study


def mrmc_auc_power(
    model: RoeMetz, n_readers: int, n_cases: int, n_sim: int, rng, alpha: float = 0.05, groups: int = 1, pos=0.5
) -> dict:
    """Share of simulated two-modality studies whose OR F test (DeLong, Hillis ddf) has p < alpha."""
    from scipy import stats

    n_pos = max(1, int(round(n_cases * pos)))
    hits = 0
    for _ in range(n_sim):
        scores, truth = simulate_roemetz(model, n_readers, n_pos, n_cases - n_pos, rng, groups)
        comp = components(scores.reshape(2 * n_readers, -1), truth)
        c = or_components(comp.auc.reshape(2, n_readers), delong_cov(comp))
        den = c["ms_tr"] + n_readers * max(c["cov2"] - c["cov3"], 0)
        if den > 0 and c["ms_tr"] > 0:
            ddf = den**2 / (c["ms_tr"] ** 2 / (n_readers - 1))
            hits += int(stats.f.sf(c["ms_t"] / den, 1, ddf) < alpha)
    return {"power": hits / n_sim, "n_sim": n_sim}


def _cell(req: SizingRequest, analysis: str, n_readers: int, n_cases: int) -> dict:
    rng = np.random.default_rng([req.seed, ANALYSES.index(analysis), n_readers, n_cases])
    row = {"analysis": analysis, "readers": n_readers, "cases": n_cases}
    per_reader = min(req.cases_per_form, n_cases) if req.cases_per_form else n_cases
    row["readings"] = n_readers * per_reader
    try:
        if n_readers < 2:
            raise ValueError("both analyses need at least 2 readers (a t on readers - 1 df; a reader variance)")
        if analysis == "pie":
            res = pie_power(req.pie, n_readers, n_cases, req.n_sim, rng, req.alpha, req.cases_per_form)
        else:
            groups = n_cases // req.cases_per_form if req.cases_per_form else 1
            if groups > n_readers:
                raise ValueError(f"{n_readers} readers cannot cover {groups} forms")
            res = mrmc_auc_power(
                req.roemetz, n_readers, n_cases, req.n_sim, rng, req.alpha, groups, req.positive_fraction
            )
    except ValueError as exc:
        return {**row, "power": None, "mc_se": None, "n_sim": 0, "note": f"not simulated: {exc}"}
    p = res["power"]
    return {**row, **res, "mc_se": float(np.sqrt(p * (1 - p) / res["n_sim"])), "note": ""}


def smallest(rows: list[dict], target: float) -> dict | None:
    """The design with power >= target and the fewest readings (then fewest readers), or None."""
    ok = [r for r in rows if r["power"] is not None and r["power"] >= target]
    return min(ok, key=lambda r: (r["readings"], r["readers"], r["cases"])) if ok else None


def size_study(req: SizingRequest, progress: Callable[[int, int], None] | None = None) -> dict:
    """Power for every (analysis, readers, cases) of the request, and the smallest adequate design per analysis."""
    from threadpoolctl import threadpool_limits

    unknown = [a for a in req.analyses if a not in ANALYSES]
    if unknown:
        raise ValueError(f"unknown analysis {unknown[0]!r}; choose from {', '.join(ANALYSES)}")
    cells = [(a, r, c) for a in req.analyses for r in sorted(set(req.readers)) for c in sorted(set(req.cases))]
    rows = []
    with threadpool_limits(limits=1):  # many small fits: BLAS threads only add overhead (see compute.py)
        for k, cell in enumerate(cells):
            rows.append(_cell(req, *cell))
            if progress:
                progress(k + 1, len(cells))
    best = {a: smallest([r for r in rows if r["analysis"] == a], req.target) for a in req.analyses}
    return {
        "request": {**asdict(req), "readers": list(req.readers), "cases": list(req.cases)},
        "pie_test": TEST,
        "population_auc": [req.roemetz.auc(0), req.roemetz.auc(1)],
        "grid": rows,
        "smallest": best,
        "sentences": [_sentence(a, best[a], req) for a in req.analyses],
    }


def _sentence(analysis: str, best: dict | None, req: SizingRequest) -> str:
    what = (
        f"a PIE log odds ratio of {req.pie.effect:g} (OR {np.exp(req.pie.effect):.2f}, latent scale) in the "
        "published odds-ratio test"
        if analysis == "pie"
        else f"an AUC difference of {req.roemetz.auc(1) - req.roemetz.auc(0):.3f} (OR, DeLong)"
    )
    if best is None:
        return f"No design in the grid reaches {req.target:.0%} power for {what}; add readers or cases."
    return (
        f"Smallest design with at least {req.target:.0%} power for {what}: {best['readers']} readers x "
        f"{best['cases']} cases ({best['readings']} readings), power {best['power']:.2f} "
        f"(Monte Carlo SE {best['mc_se']:.2f}, {best['n_sim']} simulated studies, seed {req.seed})."
    )
