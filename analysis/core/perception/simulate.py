"""Simulated readers: a generative model of ratings, for the demo and for checking the statistics.

For reader r and case c, each question gets a latent score

    z = base_q + effect_q * PIE_c + leniency_r + difficulty_c * sign_q + truth_q(c) + noise_r * e,
    leniency_r ~ N(0, reader_sd^2)   (a lenient reader rates everything higher / says "yes" more)
    effect_q + slope_qr, slope_qr ~ N(0, reader_slope_sd^2)   (readers differ in how much PIEs move them)
    difficulty_c ~ N(0, case_sd^2)   (a hard case: lower quality, higher difficulty, less agreement)
    noise_r ~ Uniform(0.7, 1.3)      (some readers are noisier than others; `noise_range`)
    e ~ logistic(0, 1)

- Likert (1..K): the answer is the category of z between the cut points 1.5, 2.5, ..., K - 0.5, i.e.
  a proportional-odds model with latent scale 1 per point, so the planted ordinal log odds ratio of
  PIE is effect_q (and the reader variance on the latent scale is reader_sd^2).
- yes/no: "yes" iff z > 0, a mixed logistic model with log odds ratio effect_q.
- Hidden truth (synthetic data only, when the case carries it) adds to z: poorer true image quality
  lowers quality and agreement and raises difficulty, subtle findings raise difficulty, and a noisy
  label lowers agreement (truth_q below). Real cases have no hidden truth and get none of these terms.

Defaults (the paper's direction): PIEs get lower quality (-0.8), higher difficulty (+0.8) and less
agreement with the label (-0.9 log odds). `simulate` is a pure function of its inputs and the seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PAPER_QUESTIONS = {
    "agree_label": ("Do you fully agree with the label?", "yes_no", 2),
    "quality": ("How would you rate the image quality?", "likert", 5),
    "difficulty": ("How difficult would you consider it to properly diagnose this image?", "likert", 5),
}


@dataclass
class ReaderModel:
    base: Mapping[str, float] = field(default_factory=lambda: {"agree_label": 1.2, "quality": 3.4, "difficulty": 2.6})
    pie_effect: Mapping[str, float] = field(
        default_factory=lambda: {"agree_label": -0.9, "quality": -0.8, "difficulty": 0.8}
    )
    reader_sd: float = 0.5
    # SD of each reader's own deviation from the PIE effect (latent scale): readers who differ in how much
    # PIEs bother them. Drawn from a separate stream, so 0 leaves every earlier simulation unchanged.
    reader_slope_sd: float = 0.0
    case_sd: float = 0.5
    noise_range: tuple[float, float] = (0.7, 1.3)
    # How the hidden truth moves each question's latent score (per point of truth_quality below 3, etc.).
    quality_weight: float = 0.6
    subtlety_weight: float = 0.4
    label_noise_weight: float = 1.5

    def direction(self, key: str) -> float:
        """How case difficulty moves the question: hard cases look worse and are harder to agree on."""
        return 1.0 if key == "difficulty" else -1.0


def _truth_term(key: str, truth: pd.DataFrame, model: ReaderModel) -> np.ndarray:
    n = len(truth)
    quality = pd.to_numeric(truth.get("truth_quality", pd.Series(np.nan, index=truth.index)), errors="coerce")
    subtle = pd.to_numeric(truth.get("truth_subtlety", pd.Series(np.nan, index=truth.index)), errors="coerce")
    noisy = pd.to_numeric(truth.get("truth_label_noise", pd.Series(np.nan, index=truth.index)), errors="coerce")
    q = np.nan_to_num((quality.to_numpy(float) - 3) * model.quality_weight)
    s = np.nan_to_num((subtle.to_numpy(float) - 3) * model.subtlety_weight)
    ln = np.nan_to_num(noisy.to_numpy(float) * model.label_noise_weight)
    if key == "quality":
        return q
    if key == "difficulty":
        return -q + s
    if key == "agree_label":
        return 0.5 * q - ln
    return np.zeros(n)


def simulate(
    pairs: pd.DataFrame,
    cases: pd.DataFrame,
    questions: Mapping[str, tuple[str, str, int]] = PAPER_QUESTIONS,
    model: ReaderModel | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Answers for every (reader, case) in `pairs`.

    pairs: columns reader, case. cases: columns case, is_pie, optional truth_quality, truth_subtlety,
    truth_label_noise. questions: key -> (text, kind, scale); only yes_no and likert are simulated.
    Returns pair (row number in `pairs`), reader, case, question, value ("yes"/"no" or the Likert point),
    value_numeric. A hidden repeat is simulated by listing its original case again: same case difficulty,
    fresh answer noise.
    """
    model = model or ReaderModel()
    rng = np.random.default_rng(seed)
    readers = sorted(pairs["reader"].unique())
    leniency = dict(zip(readers, rng.normal(0, model.reader_sd, len(readers)), strict=True))
    noise = dict(zip(readers, rng.uniform(*model.noise_range, len(readers)), strict=True))
    info = cases.set_index("case")
    difficulty = pd.Series(rng.normal(0, model.case_sd, len(info)), index=info.index)
    rows = pairs.merge(cases, on="case", how="left")
    pie = rows["is_pie"].astype(bool).to_numpy(float)
    lenient = rows["reader"].map(leniency).to_numpy()
    noisy = rows["reader"].map(noise).to_numpy()
    hard = rows["case"].map(difficulty).to_numpy()
    slopes = np.random.default_rng([seed, 1]).normal(0, model.reader_slope_sd, (len(questions), len(readers)))
    out = []
    for n, (key, (_, kind, scale)) in enumerate(questions.items()):
        if kind not in ("yes_no", "likert"):
            continue
        slope = rows["reader"].map(dict(zip(readers, slopes[n], strict=True))).to_numpy()
        z = (
            model.base.get(key, 0.0 if kind == "yes_no" else (scale + 1) / 2)
            + (model.pie_effect.get(key, 0.0) + slope) * pie
            + lenient
            + hard * model.direction(key)
            + _truth_term(key, rows, model)
            + noisy * rng.logistic(0, 1, len(rows))
        )
        if kind == "yes_no":
            numeric = (z > 0).astype(int)
            value = np.where(numeric == 1, "yes", "no")
        else:
            numeric = np.clip(np.floor(z + 0.5), 1, scale).astype(int)
            value = numeric
        out.append(
            pd.DataFrame(
                {
                    "pair": np.arange(len(rows)),  # row of `pairs` this answer belongs to
                    "reader": rows["reader"],
                    "case": rows["case"],
                    "question": key,
                    "value": value,
                    "value_numeric": numeric,
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def simulated_tidy(
    n_readers: int,
    n_cases: int,
    model: ReaderModel | None = None,
    seed: int = 0,
    questions: Sequence[str] = tuple(PAPER_QUESTIONS),
) -> pd.DataFrame:
    """A fully crossed study (every reader reads every case, half PIEs) as a tidy answer table."""
    cases = pd.DataFrame({"case": np.arange(n_cases), "is_pie": np.arange(n_cases) < n_cases // 2})
    cases["correlation"] = np.where(cases["is_pie"], 0.5, 0.9) + np.random.default_rng(seed + 1).normal(
        0, 0.05, n_cases
    )
    readers = [f"R{k + 1:02d}" for k in range(n_readers)]
    pairs = pd.DataFrame([(r, c) for r in readers for c in cases["case"]], columns=["reader", "case"])
    spec = {k: PAPER_QUESTIONS[k] for k in questions}
    answers = simulate(pairs, cases, spec, model, seed)
    tidy = answers.merge(cases, on="case").rename(columns={"case": "case_id"})
    tidy["question_kind"] = tidy["question"].map(lambda k: spec[k][1])
    tidy["question_text"] = tidy["question"].map(lambda k: spec[k][0])
    tidy["question_scale"] = tidy["question"].map(lambda k: spec[k][2] if spec[k][1] == "likert" else "")
    tidy["simulated"] = 1
    return tidy
