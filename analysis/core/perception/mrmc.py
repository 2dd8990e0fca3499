"""Obuchowski-Rockette (OR) analysis of empirical AUCs with Hillis' denominator degrees of freedom.

Model (Obuchowski & Rockette 1995; Hillis 2007, 2008, 2014): the AUC of reader j in modality i is
theta_ij = mu + tau_i + R_j + (tau R)_ij + e_ij, readers random, with error covariances Cov1 (same reader,
other modality), Cov2 (same modality, other reader) and Cov3 (other reader and modality), estimated by
averaging the DeLong (default) or jackknife covariance matrix of the AUCs over those pairs.

Random readers and cases (Hillis 2008):

    F = MS(T) / D,   D = MS(T:R) + r max(Cov2 - Cov3, 0),   ddf = D^2 / (MS(T:R)^2 / ((t-1)(r-1)))

a modality difference has SE sqrt(2/r [denominator]) with ddf, and one modality's AUC has
SE = sqrt(MS(R)/r + max(Cov2_i, 0)) with ddf_i = [MS(R) + r max(Cov2_i, 0)]^2 / (MS(R)^2 / (r-1)), using only
that modality's data (as MRMCaov does; CIs clipped to [0, 1]).

Designs other than fully crossed: Cov2 and Cov3 are averaged over *all* pairs of different readers, pairs
who share no case contributing 0. E[MS(T)] - E[MS(T:R)] = r (Cov2 - Cov3) with those averages for any
assignment of readers to case sets (a short derivation: write MS(T) and MS(T:R) as quadratic forms in the
errors), so the same statistic stays unbiased for split-plot designs (readers nested in forms), reduces to
Hillis (2008) for the crossed design, and to the nested-within-reader analysis (MS(T:R) alone, (t-1)(r-1)
df) when no two readers share a case. A test checks its type I error on simulated split-plot studies.

Fixed readers (inference for these readers only): X2 = (t-1) MS(T) / [Var - Cov1 + (r-1)(Cov2 - Cov3)]
on t-1 df, as in Hillis (2007); it is the only analysis possible with one reader.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy import stats

from analysis.core.perception.delong import components, delong_cov, jackknife_cov
from analysis.core.perception.mrmc_data import MrmcData, single_reading_notes

COV_METHODS = ("delong", "jackknife")
Z = stats.norm.ppf(0.975)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def or_components(theta: np.ndarray, cov: np.ndarray) -> dict:
    """Mean squares and error (co)variances of a modalities x readers AUC matrix and its (t r)^2 covariance."""
    t, r = theta.shape
    mod = np.repeat(np.arange(t), r)
    rdr = np.tile(np.arange(r), t)
    same_t, same_r = mod[:, None] == mod[None, :], rdr[:, None] == rdr[None, :]
    grand, by_t, by_r = theta.mean(), theta.mean(1), theta.mean(0)
    nan = float("nan")
    ms_t = r * float(((by_t - grand) ** 2).sum()) / (t - 1) if t > 1 else nan
    ms_r = t * float(((by_r - grand) ** 2).sum()) / (r - 1) if r > 1 else nan
    resid = theta - by_t[:, None] - by_r[None, :] + grand
    ms_tr = float((resid**2).sum()) / ((t - 1) * (r - 1)) if t > 1 and r > 1 else nan
    out = {
        "ms_t": ms_t,
        "ms_r": ms_r,
        "ms_tr": ms_tr,
        "df_t": t - 1,
        "df_r": r - 1,
        "df_tr": (t - 1) * (r - 1),
        "var_error": float(np.diag(cov).mean()),
        "cov1": _mean(cov[~same_t & same_r]),
        "cov2": _mean(cov[same_t & ~same_r]),
        "cov3": _mean(cov[~same_t & ~same_r]),
    }
    out["var_reader"] = (ms_r - ms_tr) / t - out["cov1"] + out["cov3"]
    out["var_treatment_reader"] = ms_tr - out["var_error"] + out["cov1"] + (out["cov2"] - out["cov3"])
    return out


def _modality_rows(data: MrmcData, theta: np.ndarray, cov: np.ndarray) -> list[dict]:
    t, r = theta.shape
    rows = []
    for i, name in enumerate(data.modalities):
        block = cov[i * r : (i + 1) * r, i * r : (i + 1) * r]
        est = float(theta[i].mean())
        row = {"modality": name, "auc": est, "var_error": float(np.diag(block).mean())}
        row["cov2"] = _mean(block[~np.eye(r, dtype=bool)])
        # Fixed readers: SE from the error covariances alone; the normal CI.
        se_f = np.sqrt((row["var_error"] + (r - 1) * max(np.nan_to_num(row["cov2"]), 0)) / r)
        row.update(se_fixed_readers=se_f, ci_low_fixed_readers=max(est - Z * se_f, 0.0))
        row["ci_high_fixed_readers"] = min(est + Z * se_f, 1.0)
        if r > 1:
            ms_r = float(((theta[i] - est) ** 2).sum() / (r - 1))
            den = ms_r / r + max(row["cov2"], 0)
            df = (ms_r + r * max(row["cov2"], 0)) ** 2 / (ms_r**2 / (r - 1)) if ms_r > 0 else np.inf
            se = float(np.sqrt(den))
            q = stats.t.ppf(0.975, df)
            t_05 = (est - 0.5) / se if se > 0 else np.nan
            row.update(ms_r=ms_r, se=se, df=float(df), ci_low=max(est - q * se, 0.0), ci_high=min(est + q * se, 1.0))
            row.update(t_vs_half=t_05, p_vs_half=float(2 * stats.t.sf(abs(t_05), df)) if se > 0 else np.nan)
        rows.append(row)
    return rows


def _random_readers(comp: dict, t: int, r: int) -> dict:
    den = comp["ms_tr"] + r * max(comp["cov2"] - comp["cov3"], 0)
    if not den > 0:
        return {"note": "not estimable: the F denominator is 0 (readers agree perfectly across modalities)"}
    ddf = den**2 / (comp["ms_tr"] ** 2 / ((t - 1) * (r - 1))) if comp["ms_tr"] > 0 else np.inf
    f = comp["ms_t"] / den
    return {"denominator": den, "F": f, "df1": t - 1, "ddf": float(ddf), "p": float(stats.f.sf(f, t - 1, ddf))}


def _fixed_readers(comp: dict, t: int, r: int) -> dict:
    cov2 = 0.0 if r < 2 else comp["cov2"]
    cov3 = 0.0 if r < 2 else comp["cov3"]
    den = comp["var_error"] - comp["cov1"] + (r - 1) * (cov2 - cov3)
    if not den > 0:
        return {"note": "not estimable: Var - Cov1 + (r-1)(Cov2 - Cov3) is not positive"}
    x2 = (t - 1) * comp["ms_t"] / den
    return {"denominator": den, "X2": x2, "df": t - 1, "p": float(stats.chi2.sf(x2, t - 1))}


def _differences(data: MrmcData, theta: np.ndarray, test: dict, fixed: dict) -> list[dict]:
    t, r = theta.shape
    out = []
    for a, b in combinations(range(t), 2):
        est = float(theta[a].mean() - theta[b].mean())
        row = {"comparison": f"{data.modalities[a]} - {data.modalities[b]}", "estimate": est}
        if "F" in test:
            se, df = float(np.sqrt(2 / r * test["denominator"])), test["ddf"]
            q, tt = stats.t.ppf(0.975, df), est / se
            row.update(se=se, df=df, ci_low=est - q * se, ci_high=est + q * se, t=tt)
            row["p"] = float(2 * stats.t.sf(abs(tt), df))
        if "X2" in fixed:
            se = float(np.sqrt(2 / r * fixed["denominator"]))
            row.update(se_fixed_readers=se, ci_low_fixed_readers=est - Z * se, ci_high_fixed_readers=est + Z * se)
            row["p_fixed_readers"] = float(2 * stats.norm.sf(abs(est / se)))
        out.append(row)
    return out


def analyse(data: MrmcData, cov_method: str = "delong") -> dict:
    """The OR analysis of empirical AUCs as a JSON-ready dict (module docstring; keys documented in README)."""
    if cov_method not in COV_METHODS:
        raise ValueError(f"cov_method must be one of {COV_METHODS}, not {cov_method!r}")
    t, r, _ = data.scores.shape
    comp_ = components(data.scores.reshape(t * r, -1), data.truth)
    cov = delong_cov(comp_) if cov_method == "delong" else jackknife_cov(comp_)
    theta = comp_.auc.reshape(t, r)
    comp = or_components(theta, cov)
    test = _random_readers(comp, t, r) if t > 1 and r > 1 else {}
    fixed = _fixed_readers(comp, t, r) if t > 1 else {}
    seen = ~np.isnan(data.scores)
    return {
        "method": "Obuchowski-Rockette, Hillis denominator df; empirical AUC",
        "cov_method": cov_method,
        "design": data.design,
        "reader_groups": data.groups,
        "modalities": data.modalities,
        "n_readers": r,
        "n_cases": len(data.cases),
        "n_positive": int(data.truth.sum()),
        "n_negative": int((~data.truth).sum()),
        "n_ratings": int(seen.sum()),
        "auc_by_reader": [
            {"modality": m, "reader": rd, "auc": float(theta[i, j]), "n_cases": int(seen[i, j].sum())}
            for i, m in enumerate(data.modalities)
            for j, rd in enumerate(data.readers)
        ],
        "modality": _modality_rows(data, theta, cov),
        **comp,
        "random_readers": test,
        "fixed_readers": fixed,
        "differences": _differences(data, theta, test, fixed) if t > 1 else [],
        "notes": single_reading_notes(t, r),
    }
