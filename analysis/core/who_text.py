"""Sentences of the "who is forgotten" sections, generated from the numbers.

Rules: a difference is named only when its 95% CI excludes zero (else "no clear difference"); a
quantity that cannot be estimated reads "not estimable" with a footnote saying why, never "nan".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.stats as sps

from common.metadata import NA

from .boot import NOT_ESTIMABLE, direction, finite, num, pval


def _pct(v) -> str:
    return f"{100 * float(v):.1f}%" if finite(v) else NOT_ESTIMABLE


def _lev(level_name: str, v: float) -> str:
    return f"{level_name} {v:g}"


def subgroup_text(sub, focus: float, level_name: str) -> dict:
    sentences, notes = [], []
    rates, gaps = sub.underdiagnosis, sub.gaps
    if not sub.groups.rows:
        return {"sentences": ["No subgroup attribute is available for these images."], "footnotes": []}
    if rates.empty:
        notes.append('Underdiagnosis is not estimable: the classes have no "No Finding".')
    at = gaps[np.isclose(gaps["level"], focus)] if len(gaps) else gaps
    for _, g in at.iterrows():
        ref = rates[(rates["attribute"] == g["attribute"]) & (rates["group"] == g["reference"])]
        mine = rates[(rates["attribute"] == g["attribute"]) & (rates["group"] == g["group"])]
        r_ref = ref[np.isclose(ref["level"], focus)]["rate"].iloc[0]
        r_me = mine[np.isclose(mine["level"], focus)]["rate"].iloc[0]
        who = f"{g['attribute']} = {g['group']}"
        if not finite(g["gap"]):
            sentences.append(f"The underdiagnosis gap of {who} vs {g['reference']} is not estimable.¹")
            continue
        d = direction(g["gap_ci_lo"], g["gap_ci_hi"], f"higher for {g['group']}", f"lower for {g['group']}")
        s = (
            f'At {_lev(level_name, focus)}, the underdiagnosis rate (false "No Finding" among images with a finding) '
            f"is {_pct(r_me)} for {who} vs {_pct(r_ref)} for {g['reference']}: gap {num(g['gap'])} "
            f"(95% patient-bootstrap CI {num(g['gap_ci_lo'])} to {num(g['gap_ci_hi'])}; {d})."
        )
        ch = direction(g["change_ci_lo"], g["change_ci_hi"], "rose", "fell", "no clear change")
        if finite(g["change_from_dense"]) and focus != 0:
            s += (
                f" Compared with dense, the gap changed by {num(g['change_from_dense'])} "
                f"(95% CI {num(g['change_ci_lo'])} to {num(g['change_ci_hi'])}; {ch})"
            )
            if g["n_seeds"] >= 2:
                s += (
                    f"; across {int(g['n_seeds'])} seeds the median change is {num(g['seed_median_change'])} "
                    f"(Wilcoxon signed-rank {pval(g['seeds_p'])})."
                )
            else:
                s += "; the across-seed test is not estimable (one seed).¹"
        sentences.append(s)
    if len(rates) and rates["rate"].isna().any():
        few = sorted({f"{a} = {g}" for a, g in rates[rates["rate"].isna()][["attribute", "group"]].to_numpy()})
        notes.append(f"¹ Not estimable (fewer than 10 images with a finding): {', '.join(few)}.")
    est = sub.metrics[~sub.metrics["estimable"]] if len(sub.metrics) else sub.metrics
    if len(est):
        notes.append(
            f"Per-subgroup AUROC/AP/F1 of {est[['attribute', 'group', 'class']].drop_duplicates().shape[0]} "
            "(subgroup, class) pairs are not estimable (fewer than 5 positives or negatives) and left empty."
        )
    sentences += _enrichment_text(sub.pie_enrichment)
    return {"sentences": sentences, "footnotes": notes}


def _enrichment_text(table: pd.DataFrame | None) -> list[str]:
    if table is None or table.empty:
        return []
    out = []
    hits = table[table["p_holm"] < 0.05]
    for _, r in hits.iterrows():
        word = "over" if r["odds_ratio"] > 1 else "under"
        out.append(
            f"{r['attribute']} = {r['group']} is {word}-represented among PIEs: {_pct(r['pie_rate'])} of these images "
            f"are PIEs vs {_pct(r['rest_rate'])} of the others (odds ratio {num(r['odds_ratio'], 2)}, Fisher "
            f"{pval(r['p'])}, Holm-adjusted {pval(r['p_holm'])})."
        )
    if hits.empty:
        best = table["p_holm"].min()
        out.append(
            "No clear difference in PIE rate between subgroups "
            f"(smallest Holm-adjusted p = {num(best)} over {len(table)} subgroups)."
        )
    return out


def calibration_text(overall: pd.DataFrame, tail: pd.DataFrame, focus: float, level_name: str) -> dict:
    first, at = overall.iloc[0], overall[np.isclose(overall["level"], focus)].iloc[0]
    last = overall.iloc[-1]
    pts = [(first, "dense"), (at, f"at {_lev(level_name, focus)}")]
    if last["level"] != at["level"]:
        pts.append((last, f"at {_lev(level_name, last['level'])}"))
    s = [
        f"Pooled ECE (equal-mass bins): {', '.join(f'{num(r.ece)} {w}' for r, w in pts)}; Brier score: "
        f"{', '.join(f'{num(r.brier)} {w}' for r, w in pts)}.",
        f"Abstaining on the 20% least certain decisions at {_lev(level_name, focus)} changes the pooled error from "
        f"{_pct(at['risk_full'])} to {_pct(at['risk_80'])} (AURC {num(at['aurc'])}, dense {num(first['aurc'])}).",
    ]
    t = tail[np.isclose(tail["level"], focus)]
    if len(t) == 2:
        h, tl = t.iloc[0], t.iloc[1]
        s.append(
            f"For the {tl['classes']} classes the error goes from {_pct(tl['risk_full'])} to {_pct(tl['risk_80'])} "
            f"(AURC {num(tl['aurc'])}); for the {h['classes']}, from {_pct(h['risk_full'])} to {_pct(h['risk_80'])} "
            f"(AURC {num(h['aurc'])})."
        )
    note = "Point estimates on the seed-averaged scores; no CIs are given for these."
    return {"sentences": s, "footnotes": [note]}


def uncertainty_text(unc) -> dict:
    if unc is None:
        return {"sentences": ["Not estimable: no PIE selection for these predictions."], "footnotes": []}
    s, notes = [], []
    for _, r in unc.auc.iterrows():
        name = r["measure"].replace("_", " ")
        if not finite(r["auroc"]):
            s.append(f"Dense-model {name} as a PIE predictor is not estimable (needs 2+ seeds).¹")
            continue
        if not finite(r["ci_lo"], r["ci_hi"]):
            s.append(f"As a PIE predictor, dense-model {name} has AUROC {num(r['auroc'])} (CI not estimable).")
            continue
        d = direction(
            r["ci_lo"] - 0.5,
            r["ci_hi"] - 0.5,
            "better than chance",
            "worse than chance",
            "no clear difference from chance",
        )
        s.append(
            f"As a PIE predictor, dense-model {name} has AUROC {num(r['auroc'])} (95% DeLong CI {num(r['ci_lo'])} to "
            f"{num(r['ci_hi'])}, {pval(r['p'])}; {d})."
        )
    st = unc.stability
    if st.get("n_boot"):
        s.append(
            f"Resampling the {st['n_seeds']} seeds ({st['n_boot']} replicates), the PIE set's Jaccard index with "
            f"the full set is {num(st['jaccard_mean'], 2)} (2.5-97.5%: {num(st['jaccard_lo'], 2)} to "
            f"{num(st['jaccard_hi'], 2)}); "
            f"{_pct(st['share_pies_selected_half'])} of the PIEs are selected in at least half of the replicates."
        )
    else:
        notes.append("¹ PIE-set stability over seeds needs 2+ seeds and a PIE level among the predictions.")
    return {"sentences": s, "footnotes": notes}


def planted_check(meta: pd.DataFrame, truth: pd.DataFrame | None, enrich: pd.DataFrame | None, ids) -> dict | None:
    """Synthetic data: is the generator's planted mechanism (AP portable films are worse) recovered?"""
    if truth is None or "portable_degraded" not in truth.columns or "view" not in meta.columns:
        return None
    t = truth.set_index(truth["image_id"].astype(str)) if "image_id" in truth.columns else truth
    t = t.reindex([str(i) for i in ids])
    ap, pa = (meta["view"] == "AP").to_numpy(), (meta["view"] == "PA").to_numpy()
    q = pd.to_numeric(t["quality"], errors="coerce").to_numpy()
    planted_p = float(sps.mannwhitneyu(q[ap], q[pa]).pvalue) if ap.any() and pa.any() else float("nan")
    row = None
    if enrich is not None and len(enrich):
        hit = enrich[(enrich["attribute"] == "view") & (enrich["group"] == "AP")]
        row = hit.iloc[0] if len(hit) else None
    out = {
        "mechanism": "AP (portable) films are of lower quality: each AP film loses one quality level with p = 0.6",
        "quality_ap": float(np.nanmean(q[ap])) if ap.any() else None,
        "quality_pa": float(np.nanmean(q[pa])) if pa.any() else None,
        "quality_p": planted_p,
        "n_unknown_view": int((meta["view"] == NA).sum()),
    }
    if row is None:
        out |= {"recovered": None, "sentence": "Planted mechanism: not testable (no PIEs or no AP films)."}
        return out
    recovered = bool(row["odds_ratio"] > 1 and row["p_holm"] < 0.05)
    out |= {"recovered": recovered, "odds_ratio": row["odds_ratio"], "p": row["p"], "p_holm": row["p_holm"]}
    out["sentence"] = (
        f"Planted mechanism (synthetic data: {out['mechanism']}; mean quality AP {num(out['quality_ap'], 2)} vs PA "
        f"{num(out['quality_pa'], 2)}, Mann-Whitney {pval(planted_p)}): "
        + ("recovered" if recovered else "not recovered")
        + f": AP films are PIEs at {_pct(row['pie_rate'])} vs {_pct(row['rest_rate'])} of PA films (odds ratio "
        f"{num(row['odds_ratio'], 2)}, Fisher {pval(row['p'])}, Holm-adjusted {pval(row['p_holm'])})."
    )
    return out
