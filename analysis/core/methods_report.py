"""The cross-method report: tables, statements and files from ``methods.MethodRun`` results."""

from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from common.csvsafe import frame_csv_text
from common.files import atomic_write

from .forgettability import median_relative_change
from .methods import (
    COST_KEYS,
    MethodRun,
    equal_size_test,
    jaccard_permutation,
    pareto_front,
    tail_classes,
)
from .stats import correlate


@dataclass
class MethodComparison:
    class_names: list[str]
    train_counts: np.ndarray
    tail: np.ndarray
    curves: pd.DataFrame  # method, level, class, rel_change
    quality: pd.DataFrame  # method, level, mAP, tail AP, costs, pareto flags
    correlations: pd.DataFrame  # method, heavy level, r, CI, rho, CI, n
    first_forgotten: dict[str, list[str]]
    overlap: pd.DataFrame  # method_a, method_b, n_a, n_b, jaccard, baseline, p
    equal_size: list[dict]

    def statements(self) -> list[str]:
        """One sentence per quantization-vs-pruning test, saying whether the claim holds here."""
        out = []
        for t in self.equal_size:
            head = f"{t['quantization']} vs {t['pruning']}"
            if t["verdict"] == "not estimable":
                out.append(f"{head}: not estimable ({t['reason']}).")
                continue
            lo, hi = t["ci"]
            claim = {
                "holds": "holds: quantization forgets the tail less than pruning at equal size",
                "contradicted": "does not hold: pruning forgets the tail less than quantization at equal size",
                "not shown": "is not shown: the interval includes no difference",
            }[t["verdict"]]
            out.append(
                f"{head} (pruning level {t['prune_level']:g}, "
                f"file {t['prune_bytes']:,} vs {t['quant_bytes']:,} bytes): "
                f"tail AP change differs by {t['diff']:+.3f} [95% t CI {lo:+.3f}, {hi:+.3f}], "
                f"n = {t['n_seeds']} seeds; the claim {claim}."
            )
        return out

    def summary(self) -> dict:
        def clean(v):
            if isinstance(v, dict):
                return {str(k): clean(x) for k, x in v.items()}
            if isinstance(v, list | tuple | np.ndarray):
                return [clean(x) for x in v]
            if isinstance(v, np.generic):
                v = v.item()
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return clean(
            {
                "tail_classes": [self.class_names[i] for i in self.tail],
                "first_forgotten": self.first_forgotten,
                "correlations": self.correlations.to_dict("records"),
                "overlap": self.overlap.to_dict("records"),
                "equal_size": self.equal_size,
                "statements": self.statements(),
            }
        )

    def write(self, out: str | os.PathLike, figures: bool = True) -> list[Path]:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, frame in (
            ("curves.csv", self.curves),
            ("quality_cost.csv", self.quality),
            ("correlations.csv", self.correlations),
            ("pie_overlap.csv", self.overlap),
        ):
            text = frame_csv_text(frame).encode()
            atomic_write(out / name, lambda f, text=text: f.write(text))
            paths.append(out / name)
        meta = json.dumps(self.summary(), indent=1).encode()
        atomic_write(out / "comparison.json", lambda f: f.write(meta))
        paths.append(out / "comparison.json")
        if figures:
            from .figures_methods import FIGURES

            for name, make in FIGURES.items():
                fig = make(self)
                atomic_write(out / f"{name}.png", lambda f, fig=fig: fig.savefig(f, format="png", dpi=110))
                paths.append(out / f"{name}.png")
        return paths


def _quality(runs: list[MethodRun], tail: np.ndarray) -> pd.DataFrame:
    rows = []
    for run in runs:
        with np.errstate(invalid="ignore"):
            m_ap = np.nanmean(np.nanmean(run.ap, axis=2), axis=0)
            t_ap = np.nanmean(np.nanmean(run.ap[:, :, tail], axis=2), axis=0)
        for i, level in enumerate(run.levels):
            cost = run.costs.get(float(level), {})
            row = {"method": run.name, "family": run.family, "level": float(level), "mAP": m_ap[i], "tail_AP": t_ap[i]}
            rows.append({**row, **{k: cost.get(k, math.nan) for k in COST_KEYS}})
    frame = pd.DataFrame(rows)
    for key in COST_KEYS:
        for q in ("mAP", "tail_AP"):
            frame[f"pareto_{q}_{key}"] = pareto_front(frame[key].to_numpy(float), frame[q].to_numpy(float))
    return frame


def compare(
    runs: list[MethodRun],
    train_counts: np.ndarray,
    class_names: list[str],
    *,
    tail_fraction: float = 1 / 3,
    n_perm: int = 999,
    n_boot: int = 2000,
    seed: int = 0,
) -> MethodComparison:
    """Compare methods run on the same seeds, images and classes (see ``methods`` for definitions)."""
    if len({r.name for r in runs}) != len(runs) or not runs:
        raise ValueError("give each method once, at least one")
    counts = np.asarray(train_counts, dtype=float)
    for r in runs:
        if r.ap.shape[0] != runs[0].ap.shape[0] or r.ap.shape[2] != counts.size:
            raise ValueError(f"{r.name}: AP shape {r.ap.shape} does not match the others' seeds and classes")
    tail = tail_classes(counts, tail_fraction)
    log_freq = np.log10(np.maximum(counts, 1))
    curves, corr, first = [], [], {}
    for r in runs:
        c = median_relative_change(r.ap)
        for i, level in enumerate(r.levels):
            curves += [
                {"method": r.name, "level": float(level), "class": n, "rel_change": c[i, j]}
                for j, n in enumerate(class_names)
            ]
        at = c[r.index(r.heavy)]
        k = correlate(log_freq, at, x_name="log10 train positives", y_name="AP change", n_boot=n_boot, seed=seed)
        corr.append({"method": r.name, "heavy_level": r.heavy, "n": k.n, "r": k.r, "r_lo": k.r_ci[0],
                     "r_hi": k.r_ci[1], "rho": k.rho, "rho_lo": k.rho_ci[0], "rho_hi": k.rho_ci[1]})  # fmt: skip
        order = [j for j in np.argsort(at, kind="stable") if np.isfinite(at[j])]
        first[r.name] = [class_names[j] for j in order[:3]]
    overlap = []
    with_pies = [r for r in runs if r.is_pie is not None]
    for a, b in itertools.combinations(with_pies, 2):
        res = jaccard_permutation(a.is_pie, b.is_pie, n_perm=n_perm, seed=seed)
        overlap.append({"method_a": a.name, "method_b": b.name, "n_a": int(a.is_pie.sum()), "n_b": int(b.is_pie.sum()),
                        **res})  # fmt: skip
    quant = [r for r in runs if r.family == "quantization"]
    prune = [r for r in runs if r.family == "pruning"]
    tests = [equal_size_test(q, p, tail) for q in quant for p in prune]
    return MethodComparison(
        class_names=list(class_names),
        train_counts=counts,
        tail=tail,
        curves=pd.DataFrame(curves),
        quality=_quality(runs, tail),
        correlations=pd.DataFrame(corr),
        first_forgotten=first,
        overlap=pd.DataFrame(overlap, columns=["method_a", "method_b", "n_a", "n_b", "jaccard", "baseline", "p"]),
        equal_size=tests,
    )
