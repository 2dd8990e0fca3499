"""The models recover what the simulator planted (PIE effect, reader variance), within their 95% CIs.

The simulator's generative model is documented in analysis.core.perception.simulate. With equal reader
noise (noise_range (1, 1)) its Likert answers follow a proportional-odds model with log OR = the planted
effect, and its yes/no answers a mixed logistic model with that log OR. On the answer scale the mixed
linear model's truths (PIE mean difference, reader variance) are computed here from the same model by
numerical integration.
"""

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

from analysis.core.perception.data import prepare
from analysis.core.perception.mixed_models import mixed_linear
from analysis.core.perception.odds_ratio import ordinal_bootstrap, ordinal_fit
from analysis.core.perception.simulate import ReaderModel, simulated_tidy

MODEL = ReaderModel(reader_sd=0.6, case_sd=0.4, noise_range=(1.0, 1.0))


def expected_likert(mu: np.ndarray, k: int = 5) -> np.ndarray:
    """E[answer] when the latent score has mean mu and logistic noise, cut at 1.5, ..., k - 0.5."""
    return 1 + sum(1 - expit(j + 0.5 - mu) for j in range(1, k))


def answer_scale_truths(key: str) -> tuple[float, float]:
    """(PIE mean difference, reader variance of reader means) on the 1-5 answer scale."""
    u = stats.norm.ppf((np.arange(4000) + 0.5) / 4000) * MODEL.reader_sd
    v = stats.norm.ppf((np.arange(400) + 0.5) / 400) * MODEL.case_sd * MODEL.direction(key)
    mu = MODEL.base[key] + u[:, None] + v[None, :]
    pie, non = expected_likert(mu + MODEL.pie_effect[key]), expected_likert(mu)
    return float((pie - non).mean()), float(((pie + non) / 2).mean(1).var())


@pytest.mark.parametrize("n_cases, seed", [(40, 11), (240, 12)])
def test_models_recover_planted_pie_effect_and_reader_variance(n_cases, seed):
    tidy = simulated_tidy(6, n_cases, model=MODEL, seed=seed, questions=("agree_label", "quality"))
    inp = prepare(tidy)
    quality = next(q for q in inp.questions if q.key == "quality")

    ordinal = ordinal_fit(inp, quality)
    planted = np.exp(MODEL.pie_effect["quality"])
    assert ordinal["ci_low"] < planted < ordinal["ci_high"]
    assert ordinal["ci_low_case"] < planted < ordinal["ci_high_case"]
    boot = ordinal_bootstrap(inp, quality, ordinal, n_boot=200, seed=seed)
    assert boot["ci_low_boot"] < planted < boot["ci_high_boot"]

    diff, reader_var = answer_scale_truths("quality")
    lmm = mixed_linear(inp, quality)
    assert lmm["ci_low"] < diff < lmm["ci_high"]
    chi2 = stats.chi2(5)
    assert 5 * lmm["var_reader"] / chi2.ppf(0.975) < reader_var < 5 * lmm["var_reader"] / chi2.ppf(0.025)

    agree = next(q for q in inp.questions if q.key == "agree_label")
    fe_logistic = ordinal_fit(inp, agree)
    assert fe_logistic["ci_low"] < np.exp(MODEL.pie_effect["agree_label"]) < fe_logistic["ci_high"]
    boot = ordinal_bootstrap(inp, agree, fe_logistic, n_boot=200, seed=seed)
    assert boot["ci_low_boot"] < np.exp(MODEL.pie_effect["agree_label"]) < boot["ci_high_boot"]


def test_no_planted_effect_is_not_found_at_240_cases():
    null = ReaderModel(pie_effect={"agree_label": 0.0, "quality": 0.0, "difficulty": 0.0}, noise_range=(1.0, 1.0))
    inp = prepare(simulated_tidy(6, 240, model=null, seed=5, questions=("quality",)))
    ordinal = ordinal_fit(inp, inp.questions[0])
    assert ordinal["ci_low"] < 1 < ordinal["ci_high"] and ordinal["ci_low_case"] < 1 < ordinal["ci_high_case"]
