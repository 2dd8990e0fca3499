"""Power of the project's primary analysis, the PIE effect in the crossed linear mixed model, by simulation.

Generative model (the mixed model's own, so a pilot study's ``mixed_linear`` row can be typed in as is):

    y_rc = base + effect PIE_c + u_r + v_c + e_rc,   u ~ N(0, var_reader), v ~ N(0, var_case), e ~ N(0, var_residual)

optionally rounded to the points 1..K of a Likert scale (``likert``). Half the cases are PIEs. Designs:
``cases_per_form = 0``: every reader reads every case (crossed); otherwise cases are split into forms of that
size (half PIEs each) and readers are dealt to forms in turn, as the project's study builder does.

Each replicate is analysed as ``mixed_models.mixed_linear`` does: REML with crossed reader and case
intercepts, Wald z test of the PIE coefficient at ``alpha``. For the crossed design with continuous ratings
the REML fit has a closed form (balanced data: GLS = OLS, and REML = ANOVA estimates when the case component
is interior), which ``balanced_pie_test`` uses; on the boundary, and for every other design, the full REML
fit (``mixed_reml.fit_crossed_intercepts``) runs. A test checks that both give the same p-values.

``closed_form_power``: for the crossed design (case variance interior) the z statistic is exactly
t = d_hat / SE ~ noncentral t with C - 2 df and ncp = effect / sqrt((var_case + var_residual / R) (4 / C)),
so power = P(|t| > z_{1 - alpha/2}). The sizing test compares the simulation with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.core.perception.mixed_reml import fit_crossed_intercepts


@dataclass(frozen=True)
class PieModel:
    effect: float = 0.5
    var_reader: float = 0.25
    var_case: float = 0.5
    var_residual: float = 1.0
    base: float = 3.0
    likert: int = 0  # 0: continuous ratings; K: round to 1..K


def layout(n_readers: int, n_cases: int, cases_per_form: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reader, case) index pairs of every reading, and each case's PIE flag (half PIEs per form)."""
    if cases_per_form and n_cases % cases_per_form:
        raise ValueError(f"{n_cases} cases do not split into forms of {cases_per_form}")
    per_form = cases_per_form or n_cases
    n_forms = n_cases // per_form
    if n_readers < n_forms:
        raise ValueError(f"{n_readers} readers cannot cover {n_forms} forms (every form needs a reader)")
    case_form = np.arange(n_cases) // per_form
    pie = (np.arange(n_cases) % per_form) < per_form // 2
    reader_form = np.arange(n_readers) % n_forms
    r, c = np.nonzero(reader_form[:, None] == case_form[None, :])
    return r, c, pie


def simulate_pie(model: PieModel, r: np.ndarray, c: np.ndarray, pie: np.ndarray, rng) -> np.ndarray:
    n_readers, n_cases = int(r.max()) + 1, len(pie)
    y = (
        model.base
        + model.effect * pie[c]
        + rng.normal(0, np.sqrt(model.var_reader), n_readers)[r]
        + rng.normal(0, np.sqrt(model.var_case), n_cases)[c]
        + rng.normal(0, np.sqrt(model.var_residual), len(r))
    )
    return np.clip(np.floor(y + 0.5), 1, model.likert) if model.likert else y


def balanced_pie_test(Y: np.ndarray, pie: np.ndarray) -> float | None:
    """Wald z p-value of the PIE effect for a complete readers x cases table, or None on the REML boundary."""
    R, C = Y.shape
    case_mean, reader_mean, grand = Y.mean(0), Y.mean(1), Y.mean()
    group_mean = np.where(pie, case_mean[pie].mean(), case_mean[~pie].mean())
    ss_c = R * float(((case_mean - group_mean) ** 2).sum())
    ss_r = C * float(((reader_mean - grand) ** 2).sum())
    ss_e = float(((Y - reader_mean[:, None] - case_mean[None, :] + grand) ** 2).sum())
    df_c, df_r, df_e = C - 2, R - 1, (R - 1) * (C - 1)
    ms_e = ss_e / df_e
    # With the reader variance on its boundary (0) REML pools the reader sum of squares into the residual.
    var_e = ms_e if ss_r / df_r > ms_e else (ss_e + ss_r) / (df_e + df_r)
    ms_c = ss_c / df_c
    if not ms_c > var_e:
        return None
    n1, n0 = int(pie.sum()), int((~pie).sum())
    se = np.sqrt(ms_c / R * (1 / n1 + 1 / n0))
    d = case_mean[pie].mean() - case_mean[~pie].mean()
    return float(2 * stats.norm.sf(abs(d / se)))


def reml_pie_test(y: np.ndarray, r: np.ndarray, c: np.ndarray, pie: np.ndarray) -> float:
    X = np.column_stack([np.ones(len(y)), pie[c].astype(float)])
    factors = {"reader": r, "case": c} if np.bincount(c).max() > 1 else {"reader": r}
    return float(fit_crossed_intercepts(y, X, factors).p[1])


def pie_power(
    model: PieModel, n_readers: int, n_cases: int, n_sim: int, rng, alpha: float = 0.05, cases_per_form: int = 0
) -> dict:
    """Share of n_sim simulated studies whose PIE effect has p < alpha, with how many needed the full fit."""
    r, c, pie = layout(n_readers, n_cases, cases_per_form)
    complete = len(r) == n_readers * n_cases and not model.likert
    hits = full = 0
    for _ in range(n_sim):
        y = simulate_pie(model, r, c, pie, rng)
        p = balanced_pie_test(y.reshape(n_readers, n_cases), pie) if complete else None
        if p is None:
            full += 1
            p = reml_pie_test(y, r, c, pie)
        hits += int(p < alpha)
    return {"power": hits / n_sim, "n_sim": n_sim, "n_full_reml_fits": full}


def closed_form_power(model: PieModel, n_readers: int, n_cases: int, alpha: float = 0.05) -> float:
    """Exact power of the crossed design's Wald z test with continuous ratings (module docstring)."""
    tau = np.sqrt((model.var_case + model.var_residual / n_readers) * 4 / n_cases)
    df, ncp, z = n_cases - 2, model.effect / tau, stats.norm.ppf(1 - alpha / 2)
    return float(stats.nct.sf(z, df, ncp) + stats.nct.cdf(-z, df, ncp))


def pie_model_from_pilot(tidy, question: str, questions: list[dict] | None = None, **override) -> tuple[PieModel, dict]:
    """A PieModel from a pilot study's answers: the crossed mixed model's PIE effect and variance components
    for one question (mixed_models.mixed_linear), the non-PIE mean as base; ``override`` replaces any field
    (e.g. the effect one wants to detect). Raises ValueError when the pilot cannot give them."""
    from analysis.core.perception import mixed_models
    from analysis.core.perception.data import prepare

    inp = prepare(tidy, questions)
    spec = next((q for q in inp.questions if q.key == question), None)
    if spec is None:
        known = ", ".join(q.key for q in inp.questions) or "none"
        raise ValueError(f"The pilot has no analysed question {question!r} (questions: {known}).")
    row = mixed_models.mixed_linear(inp, spec)
    if "estimate" not in row:
        raise ValueError(f"The pilot's mixed model for {question!r} is {row.get('note', 'not estimable')}.")
    rows = inp.of(question)
    fields = {
        "effect": row["estimate"],
        "var_reader": row["var_reader"],
        "var_case": 0.0 if np.isnan(row["var_case"]) else row["var_case"],
        "var_residual": row["var_residual"],
        "base": float(rows.loc[~rows["is_pie"], "y"].mean()),
    }
    return PieModel(**{**fields, **override}), {
        k: row.get(k) for k in ("estimate", "ci_low", "ci_high", "p", "n_readers", "n_cases", "note")
    }
