"""The crossed random-intercept REML fit (analysis/core/perception/mixed_reml.py) vs closed forms and statsmodels."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM

from analysis.core.perception.mixed_reml import fit_crossed_intercepts


def test_balanced_crossed_design_reproduces_the_anova_estimates():
    """In a balanced two-way crossed design (every reader reads every case once) with positive moment
    estimates, REML equals the ANOVA estimators: s_e^2 = MS_E, s_r^2 = (MS_R - MS_E) / n_cases,
    s_c^2 = (MS_C - MS_E) / n_readers, and the grand mean has variance (MS_R + MS_C - MS_E) / (n_r n_c)."""
    rng = np.random.default_rng(11)
    n_r, n_c = 4, 30
    reader = np.repeat(np.arange(n_r), n_c)
    case = np.tile(np.arange(n_c), n_r)
    y = 2 + rng.normal(0, 1.0, n_r)[reader] + rng.normal(0, 0.8, n_c)[case] + rng.normal(0, 0.5, reader.size)
    table = y.reshape(n_r, n_c)
    grand, r_mean, c_mean = table.mean(), table.mean(axis=1), table.mean(axis=0)
    ms_r = n_c * ((r_mean - grand) ** 2).sum() / (n_r - 1)
    ms_c = n_r * ((c_mean - grand) ** 2).sum() / (n_c - 1)
    ms_e = ((table - r_mean[:, None] - c_mean[None, :] + grand) ** 2).sum() / ((n_r - 1) * (n_c - 1))
    assert ms_r > ms_e and ms_c > ms_e  # the moment estimates are positive, so REML must equal them

    fit = fit_crossed_intercepts(y, np.ones((y.size, 1)), {"reader": reader, "case": case})
    assert fit.converged
    assert fit.beta[0] == pytest.approx(grand, abs=1e-9)
    assert fit.scale == pytest.approx(ms_e, rel=1e-6)
    assert fit.variances["reader"] == pytest.approx((ms_r - ms_e) / n_c, rel=1e-6)
    assert fit.variances["case"] == pytest.approx((ms_c - ms_e) / n_r, rel=1e-6)
    assert fit.se[0] == pytest.approx(np.sqrt((ms_r + ms_c - ms_e) / (n_r * n_c)), rel=1e-6)


def test_the_wald_p_value_is_two_sided_normal():
    rng = np.random.default_rng(5)
    reader = np.repeat(np.arange(3), 40)
    case = np.tile(np.arange(40), 3)
    x = (case % 2).astype(float)
    y = 0.3 * x + rng.normal(0, 1, 40)[case] + rng.normal(0, 1, reader.size)
    fit = fit_crossed_intercepts(y, np.column_stack([np.ones(y.size), x]), {"reader": reader, "case": case})
    z = fit.beta[1] / fit.se[1]
    assert fit.p[1] == pytest.approx(2 * (1 - stats.norm.cdf(abs(z))), rel=1e-9)


def test_crossed_reml_equals_statsmodels_mixedlm_with_readers_and_cases_as_variance_components():
    """Our lme4-style REML and statsmodels' one-group variance-component MixedLM maximise the same
    criterion: the same fixed effects, variance components, and standard error of the PIE effect (the one we
    report; the intercept's differs by about 10%: statsmodels takes it from the full observed Hessian, lme4
    and we from s^2 (X' V^-1 X)^-1)."""
    rng = np.random.default_rng(7)
    n_readers, n_cases = 5, 60
    reader = np.repeat(np.arange(n_readers), n_cases)
    case = np.tile(np.arange(n_cases), n_readers)
    pie = (case < n_cases // 3).astype(float)
    y = 3 + 0.6 * pie + rng.normal(0, 0.5, n_readers)[reader] + rng.normal(0, 0.7, n_cases)[case]
    y = y + rng.normal(0, 1.0, y.size)
    ours = fit_crossed_intercepts(y, np.column_stack([np.ones(y.size), pie]), {"reader": reader, "case": case})
    data = pd.DataFrame({"y": y, "x": pie, "reader": reader, "case": case, "one": 1})
    vc = {"reader": "0 + C(reader)", "case": "0 + C(case)"}
    ref = MixedLM.from_formula("y ~ x", groups="one", vc_formula=vc, data=data).fit(reml=True)
    assert ours.converged
    assert ours.beta == pytest.approx(ref.fe_params.to_numpy(), abs=1e-6)
    assert ours.se[1] == pytest.approx(float(ref.bse_fe["x"]), rel=1e-4)
    assert ours.p[1] == pytest.approx(float(ref.pvalues["x"]), rel=1e-3)
    ref_vc = dict(zip(ref.model.exog_vc.names, ref.vcomp, strict=True))
    assert ours.variances["reader"] == pytest.approx(ref_vc["reader"], rel=1e-3)
    assert ours.variances["case"] == pytest.approx(ref_vc["case"], rel=1e-3)
    assert ours.scale == pytest.approx(ref.scale, rel=1e-4)
    assert ours.loglik == pytest.approx(ref.llf, abs=1e-6)


def test_crossed_reml_puts_a_variance_that_explains_nothing_on_the_boundary():
    """No reader effect at all: the reader variance is estimated at (or next to) zero, never negative, and
    the case variance is the one statsmodels finds."""
    rng = np.random.default_rng(3)
    reader = np.repeat(np.arange(6), 50)
    case = np.tile(np.arange(50), 6)
    y = rng.normal(0, 1.0, 50)[case] + rng.normal(0, 1.0, reader.size)
    fit = fit_crossed_intercepts(y, np.ones((y.size, 1)), {"reader": reader, "case": case})
    data = pd.DataFrame({"y": y, "reader": reader, "case": case, "one": 1})
    vc = {"reader": "0 + C(reader)", "case": "0 + C(case)"}
    ref = MixedLM.from_formula("y ~ 1", groups="one", vc_formula=vc, data=data).fit(reml=True)
    ref_vc = dict(zip(ref.model.exog_vc.names, ref.vcomp, strict=True))
    assert 0 <= fit.variances["reader"] < 0.02 and ref_vc["reader"] < 0.02
    assert fit.variances["case"] == pytest.approx(ref_vc["case"], rel=1e-3)


def test_three_crossed_factors_equal_statsmodels():
    """More than two factors: each factor's columns of Z start where the previous factor's end."""
    rng = np.random.default_rng(2)
    reader = np.repeat(np.arange(4), 36)
    case = np.tile(np.arange(36), 4)
    site = case % 3
    y = (
        rng.normal(0, 0.7, 4)[reader]
        + rng.normal(0, 0.6, 36)[case]
        + rng.normal(0, 1.2, 3)[site]
        + rng.normal(0, 0.5, reader.size)
    )
    fit = fit_crossed_intercepts(y, np.ones((y.size, 1)), {"reader": reader, "case": case, "site": site})
    data = pd.DataFrame({"y": y, "reader": reader, "case": case, "site": site, "one": 1})
    vc = {"reader": "0 + C(reader)", "case": "0 + C(case)", "site": "0 + C(site)"}
    ref = MixedLM.from_formula("y ~ 1", groups="one", vc_formula=vc, data=data).fit(reml=True)
    ref_vc = dict(zip(ref.model.exog_vc.names, ref.vcomp, strict=True))
    for name in ("reader", "case", "site"):
        assert fit.variances[name] == pytest.approx(ref_vc[name], rel=2e-3)
    assert fit.scale == pytest.approx(ref.scale, rel=1e-4)


def test_bool_answers_and_a_bool_design_column_give_the_fit_of_their_float_values_without_warnings():
    """Yes/no answers and the PIE flag arrive as bool columns: the fit must read them as 0/1 numbers (a bool
    matrix product is a logical OR, not a sum), and a fit raises no warning (a warning here would be copied
    into the published row's warnings)."""
    rng = np.random.default_rng(11)
    reader = np.repeat(np.arange(4), 30)
    case = np.tile(np.arange(30), 4)
    pie = case < 12
    y = (rng.normal(0, 1, 30)[case] + 0.8 * pie + rng.normal(0, 1, reader.size)) > 0.5
    groups = {"reader": reader, "case": case}
    as_float = fit_crossed_intercepts(y.astype(float), np.column_stack([np.ones(y.size), pie.astype(float)]), groups)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_bool = fit_crossed_intercepts(y, np.column_stack([np.ones(y.size, bool), pie]), groups)
    assert as_bool.beta == pytest.approx(as_float.beta, abs=1e-9)
    assert as_bool.se == pytest.approx(as_float.se, abs=1e-9)
    assert as_bool.variances == pytest.approx(as_float.variances, abs=1e-9)
    assert as_bool.loglik == pytest.approx(as_float.loglik, abs=1e-9)


def test_readers_who_agree_on_every_case_give_the_regression_on_case_means():
    """Every reader gives each case the same answer: the residual variance goes to 0 and the case variance
    ratio would run to infinity (issue 18's crash). The bounded search stops at MAX_THETA, and the fit is the
    known answer of a balanced design with a case-level covariate: ordinary least squares on the case means."""
    rng = np.random.default_rng(5)
    reader = np.repeat(np.arange(3), 20)
    case = np.tile(np.arange(20), 3)
    correlation = rng.uniform(0, 1, 20)
    per_case = np.round(2 + 2 * correlation + rng.normal(0, 1, 20))
    x_case = np.column_stack([np.ones(20), correlation])
    fit = fit_crossed_intercepts(per_case[case], x_case[case], {"reader": reader, "case": case})
    expected = np.linalg.lstsq(x_case, per_case, rcond=None)[0]
    assert fit.beta == pytest.approx(expected, abs=1e-6)
    assert np.all(np.isfinite(fit.se)) and fit.variances["reader"] < 1e-6
