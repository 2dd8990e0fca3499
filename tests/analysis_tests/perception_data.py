"""Small fixed tidy tables for the perception tests (hand-made, so expected numbers are computable)."""

import numpy as np
import pandas as pd

KINDS = {"agree_label": "yes_no", "quality": "likert", "difficulty": "likert"}


def tidy_from(values: dict[str, list[tuple[str, int, bool, float]]]) -> pd.DataFrame:
    """question -> [(reader, case, is_pie, value)] as a tidy table."""
    rows = [
        {"reader": r, "case_id": c, "is_pie": int(p), "question": q, "question_kind": KINDS.get(q, "likert"),
         "question_scale": 5 if KINDS.get(q, "likert") == "likert" else "", "value_numeric": v}
        for q, items in values.items()
        for r, c, p, v in items
    ]  # fmt: skip
    return pd.DataFrame(rows)


def fixed_tidy(seed: int = 0, n_readers: int = 3, n_cases: int = 12) -> pd.DataFrame:
    """Every reader reads every case; PIE cases get lower quality on purpose (seeded, fixed)."""
    rng = np.random.default_rng(seed)
    items = {q: [] for q in KINDS}
    for r in range(n_readers):
        for c in range(n_cases):
            pie = c < n_cases // 2
            items["quality"].append((f"R{r}", c, pie, int(np.clip(rng.integers(1, 6) - pie, 1, 5))))
            items["difficulty"].append((f"R{r}", c, pie, int(rng.integers(1, 6))))
            items["agree_label"].append((f"R{r}", c, pie, int(rng.random() < (0.4 if pie else 0.8))))
    return tidy_from(items)
