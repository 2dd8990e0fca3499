"""Effect sizes with 95% CIs from a two-way cluster bootstrap (readers and cases, never single answers).

One replicate draws readers with replacement (R of R) and, independently, cases with replacement
within each group (PIE cases among PIE cases, non-PIE among non-PIE, so both groups keep their size).
An answer of reader r on case c then enters the replicate ``a_r * b_c`` times, where a and b are the
draw counts; this is the "pigeonhole" bootstrap for crossed designs (Owen 2007). Every statistic
below is a function of weighted counts, so all replicates are computed at once as matrix products
(B x R) @ (R x C) and no replicate loops over answers. CIs are percentile intervals.

- difference in means: mean(PIE) - mean(non-PIE), answers weighted as above;
- Cliff's delta (Likert): P(X > Y) - P(X < Y), X a PIE answer, Y a non-PIE answer;
- odds ratio (yes/no): odds of "yes" for PIEs / odds for non-PIEs. A replicate with a zero cell
  gets 0.5 added to each of its four cells (Haldane-Anscombe) so it stays finite; the point estimate
  is "not estimable" when the data themselves have a zero cell.
With one reader the reader draw is constant, so the CI covers case sampling only (said in the note).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.core.perception.data import PerceptionInput, QuestionSpec, answer_matrix, case_key, not_estimable

DEFAULT_REPLICATES = 2000


@dataclass
class ClusterWeights:
    """Per-replicate draw counts: readers (B x R) and cases (B x C); row 0 of `point` is all ones."""

    readers: np.ndarray
    cases: np.ndarray


def draw_weights(n_readers: int, is_pie_case: np.ndarray, n_boot: int, seed: int) -> ClusterWeights:
    rng = np.random.default_rng(seed)
    a = rng.multinomial(n_readers, np.full(n_readers, 1 / n_readers), size=n_boot).astype(float)
    b = np.zeros((n_boot, len(is_pie_case)))
    for mask in (is_pie_case, ~is_pie_case):
        k = int(mask.sum())
        if k:
            b[:, mask] = rng.multinomial(k, np.full(k, 1 / k), size=n_boot)
    return ClusterWeights(a, b)


def _weighted_sum(w: ClusterWeights, m: np.ndarray) -> np.ndarray:
    """sum_rc a_br * m_rc * b_bc for every replicate b."""
    return np.einsum("br,bc,rc->b", w.readers, w.cases, m, optimize=True) if m.size else np.zeros(len(w.readers))


def group_counts(w: ClusterWeights, y: np.ndarray, values: list[int], pie: np.ndarray) -> dict[str, np.ndarray]:
    """Weighted count of each answer value per group: {'PIE': (B x K), 'non-PIE': (B x K)}."""
    seen = ~np.isnan(y)
    out = {}
    for name, mask in (("PIE", pie), ("non-PIE", ~pie)):
        cols = [_weighted_sum(w, (seen & (y == v) & mask[None, :]).astype(float)) for v in values]
        out[name] = np.stack(cols, axis=1)
    return out


def _mean_diff(h: dict[str, np.ndarray], values: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        m = {g: (c * values).sum(1) / c.sum(1) for g, c in h.items()}
    return m["PIE"] - m["non-PIE"]


def _cliffs_delta(h: dict[str, np.ndarray]) -> np.ndarray:
    p, n = h["PIE"], h["non-PIE"]
    below = np.cumsum(n, axis=1) - n  # non-PIE answers strictly below each value
    above = n.sum(1, keepdims=True) - np.cumsum(n, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (p * (below - above)).sum(1) / (p.sum(1) * n.sum(1))


def _log_odds_ratio(h: dict[str, np.ndarray]) -> np.ndarray:
    cells = np.stack([h["PIE"][:, 1], h["PIE"][:, 0], h["non-PIE"][:, 1], h["non-PIE"][:, 0]], axis=1)
    cells = cells + 0.5 * (cells == 0).any(axis=1, keepdims=True)
    return np.log(cells[:, 0]) - np.log(cells[:, 1]) - np.log(cells[:, 2]) + np.log(cells[:, 3])


def _row(q: QuestionSpec, effect: str, point: float, reps: np.ndarray, note: str) -> dict:
    reps = reps[np.isfinite(reps)]
    lo, hi = np.percentile(reps, [2.5, 97.5]) if len(reps) else (np.nan, np.nan)
    return {"question": q.key, "effect": effect, "estimate": point, "ci_low": lo, "ci_high": hi, "note": note}


def effect_sizes(inp: PerceptionInput, n_boot: int = DEFAULT_REPLICATES, seed: int = 0) -> pd.DataFrame:
    """question, effect, estimate, ci_low, ci_high, n_boot, n_readers, n_cases, note (one row per effect)."""
    out = []
    for q in inp.questions:
        rows = inp.of(q.key)
        readers = sorted(rows["reader"].unique())
        case_pie = rows.drop_duplicates("case").set_index("case")["is_pie"]
        case_pie = case_pie.loc[sorted(case_pie.index, key=case_key)]  # replicates draw cases in this order
        cases, pie = list(case_pie.index), case_pie.to_numpy(bool)
        effects = ["difference_in_means", "cliffs_delta" if q.kind == "likert" else "odds_ratio"]
        base = {"n_boot": n_boot, "n_readers": len(readers), "n_cases": len(cases)}
        if pie.sum() == 0 or (~pie).sum() == 0:
            reason = not_estimable("no PIE answers" if pie.sum() == 0 else "no non-PIE answers")
            out += [{"question": q.key, "effect": e, "note": reason, **base} for e in effects]
            continue
        y = answer_matrix(rows, readers, cases)
        values = np.array(q.values, float)
        ones = ClusterWeights(np.ones((1, len(readers))), np.ones((1, len(cases))))
        boot = draw_weights(len(readers), pie, n_boot, seed)
        point, reps = group_counts(ones, y, q.values, pie), group_counts(boot, y, q.values, pie)
        note = "one reader: the CI covers case sampling only" if len(readers) == 1 else ""
        out.append({**_row(q, effects[0], _mean_diff(point, values)[0], _mean_diff(reps, values), note), **base})
        if q.kind == "likert":
            out.append({**_row(q, effects[1], _cliffs_delta(point)[0], _cliffs_delta(reps), note), **base})
        else:
            cells = np.concatenate([point["PIE"][0], point["non-PIE"][0]])
            if (cells == 0).any():
                reason = not_estimable("a zero cell in the 2x2 table (e.g. every PIE answer was 'yes')")
                out.append({"question": q.key, "effect": "odds_ratio", "note": reason, **base})
            else:
                row = _row(q, "odds_ratio", _log_odds_ratio(point)[0], _log_odds_ratio(reps), note)
                for k in ("estimate", "ci_low", "ci_high"):
                    row[k] = float(np.exp(row[k]))
                out.append({**row, **base})
    cols = ["question", "effect", "estimate", "ci_low", "ci_high", "n_boot", "n_readers", "n_cases", "note"]
    return pd.DataFrame(out, columns=cols)
