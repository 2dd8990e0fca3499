"""Power of the published PIE test, by simulation from the project's reader model.

The test sized is the one the statistics page publishes for each question (odds_ratio.py): the odds ratio of
PIE vs non-PIE from the proportional-odds (Likert) or logistic (yes/no) model with reader fixed effects, its
p-value the two-way (reader and case) cluster-robust Wald test with Student t on readers - 1 df
(clustered.py). Each simulated study goes through ``odds_ratio.ordinal_fit`` itself; a study whose odds
ratio is "not estimable" (separation, one answer throughout, ...) counts as not rejecting, as the page
would publish no p for it.

Studies are drawn from ``simulate.simulate`` (the generator of the demo and of the planted-effect
calibration, bench/perception_calibration.py) with one question of the given kind:

    z = base + (effect + slope_r) PIE_c + leniency_r + difficulty_c + noise_r * logistic,
    leniency_r ~ N(0, reader_sd^2), slope_r ~ N(0, reader_slope_sd^2), difficulty_c ~ N(0, case_sd^2),
    noise_r ~ Uniform(0.7, 1.3); Likert: the category of z between 1.5, 2.5, ..., K - 0.5; yes/no: z > 0.

``effect`` is the PIE log odds ratio on that latent scale (conditional on reader and case). The published
odds ratio averages over cases, so it estimates a somewhat smaller value (about 1.97 where exp(effect) is
2.23 with the defaults): a pilot's published log OR used as ``effect`` gives a slightly conservative power.
Defaults are simulate.ReaderModel's (difficulty question: effect 0.8, reader and case SD 0.5, 5 points).

Designs: ``cases_per_form = 0``: every reader reads every case (crossed); otherwise cases are split into forms
of that size (half PIEs each) and readers are dealt to forms in turn, as the project's study builder does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.core.perception.data import PerceptionInput, QuestionSpec
from analysis.core.perception.odds_ratio import ordinal_fit
from analysis.core.perception.simulate import ReaderModel, simulate

QUESTION = "sized"
TEST = (
    "the PIE odds ratio with reader fixed effects, two-way (reader and case) cluster-robust Wald, t with readers - 1 df"
)


@dataclass(frozen=True)
class PieModel:
    effect: float = 0.8  # PIE log odds ratio on the latent scale
    reader_sd: float = 0.5
    case_sd: float = 0.5
    reader_slope_sd: float = 0.0  # readers differ in their PIE effect (latent scale)
    base: float | None = None  # latent location of non-PIEs; None: the scale's middle (0 for yes/no)
    scale: int = 5  # Likert points; 2 = a yes/no question

    def spec(self) -> QuestionSpec:
        kind = "yes_no" if self.scale == 2 else "likert"
        return QuestionSpec(key=QUESTION, text="", kind=kind, scale=self.scale)

    def reader_model(self) -> ReaderModel:
        base = {} if self.base is None else {QUESTION: self.base}
        return ReaderModel(
            base=base,
            pie_effect={QUESTION: self.effect},
            reader_sd=self.reader_sd,
            case_sd=self.case_sd,
            reader_slope_sd=self.reader_slope_sd,
        )


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


def simulate_study(model: PieModel, r: np.ndarray, c: np.ndarray, pie: np.ndarray, seed: int) -> PerceptionInput:
    """One simulated study of the design, as the statistics' input (one question, no repeats)."""
    spec = model.spec()
    pairs = pd.DataFrame({"reader": [f"R{k + 1:03d}" for k in r], "case": c})
    cases = pd.DataFrame({"case": np.arange(len(pie)), "is_pie": pie})
    sim = simulate(pairs, cases, {QUESTION: ("", spec.kind, spec.scale)}, model.reader_model(), seed)
    answers = pd.DataFrame(
        {
            "reader": sim["reader"],
            "case": sim["case"],
            "is_pie": pie[sim["case"].to_numpy()],
            "question": QUESTION,
            "y": sim["value_numeric"].astype(float),
            "correlation": np.nan,
        }
    )
    repeats = pd.DataFrame(columns=["reader", "question", "first", "repeat"])
    return PerceptionInput(answers=answers, repeats=repeats, questions=[spec])


def published_p(inp: PerceptionInput) -> float:
    """The p-value the statistics page would publish for the study's question, NaN when not estimable."""
    return float(ordinal_fit(inp, inp.questions[0]).get("p", np.nan))


def pie_power(
    model: PieModel, n_readers: int, n_cases: int, n_sim: int, rng, alpha: float = 0.05, cases_per_form: int = 0
) -> dict:
    """Share of n_sim simulated studies whose published PIE test has p < alpha; not-estimable ones are counted."""
    if model.scale < 2:
        raise ValueError(f"a question needs at least 2 answer levels (scale {model.scale})")
    r, c, pie = layout(n_readers, n_cases, cases_per_form)
    hits = failed = 0
    for seed in rng.integers(0, 2**63, n_sim):
        p = published_p(simulate_study(model, r, c, pie, int(seed)))
        failed += int(not np.isfinite(p))
        hits += int(np.isfinite(p) and p < alpha)
    return {"power": hits / n_sim, "n_sim": n_sim, "n_not_estimable": failed}


def pie_model_from_pilot(tidy, question: str, questions: list[dict] | None = None, **override) -> tuple[PieModel, dict]:
    """A PieModel from a pilot study's answers: the published log odds ratio of one question as the effect,
    the question's scale, and the non-PIE answers' location as base (mean rating; logit of the "yes" share
    for yes/no). The reader fixed-effects model estimates no variance components, so reader_sd, case_sd and
    reader_slope_sd stay at their defaults unless typed; ``override`` replaces any field. Raises ValueError
    when the pilot cannot give the effect."""
    from analysis.core.perception.data import prepare

    inp = prepare(tidy, questions)
    spec = next((q for q in inp.questions if q.key == question), None)
    if spec is None:
        known = ", ".join(q.key for q in inp.questions) or "none"
        raise ValueError(f"The pilot has no analysed question {question!r} (questions: {known}).")
    row = ordinal_fit(inp, spec)
    if "log_or" not in row:
        raise ValueError(f"The pilot's odds ratio for {question!r} is {row.get('note', 'not estimable')}.")
    rows = inp.of(question)
    level = float(rows.loc[~rows["is_pie"], "y"].mean())
    if spec.kind == "yes_no":
        level = float(np.log(np.clip(level, 0.01, 0.99) / (1 - np.clip(level, 0.01, 0.99))))
    fields = {"effect": row["log_or"], "base": level, "scale": spec.scale if spec.kind == "likert" else 2}
    pilot = {k: row.get(k) for k in ("odds_ratio", "ci_low", "ci_high", "p", "n_readers", "n_cases", "note")}
    return PieModel(**{**fields, **override}), {**pilot, "log_or": row["log_or"]}
