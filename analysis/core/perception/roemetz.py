"""Simulated MRMC ROC studies: the Roe and Metz (1997) model as iMRMC's ``sim.gRoeMetz`` sets it up.

For truth t (0 negative, 1 positive), modality m (A, B), reader r and case c the score is

    x = mu_t + delta [m = B] t + R_tr + C_c + RC_rc + R_mtr + C_mc + RC_mrc

with every random term normal, mean 0; reader terms are drawn separately for negative and positive cases,
and the modality-specific terms (index m) have the same variances as the shared ones. Defaults are iMRMC's
``sim.gRoeMetz.config()``: mu_0 = 0, mu_1 = 1, var_r = 0.03, var_c = 0.30, var_rc = 0.20 (DIDSR/iMRMC,
R package). ``delta`` shifts modality B's positives: the modality effect a study wants to detect.

A split-plot study splits readers and cases into ``groups`` of (near) equal size; readers rate only their
group's cases (NaN elsewhere), in both modalities, as in this project's forms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class RoeMetz:
    mu_pos: float = 1.0
    delta: float = 0.0
    var_r: float = 0.03
    var_c: float = 0.30
    var_rc: float = 0.20

    def auc(self, modality: int = 0) -> float:
        """The population AUC of a modality: P(x_pos > x_neg) over readers and cases (normal scores)."""
        # A positive and a negative case read by the same reader differ by independent reader terms (drawn per
        # truth), case terms and reader-by-case terms, shared and modality-specific: 2 x 2 of each.
        var = 4 * (self.var_r + self.var_c + self.var_rc)
        return float(stats.norm.cdf((self.mu_pos + self.delta * modality) / np.sqrt(var)))


def split(n: int, groups: int) -> np.ndarray:
    """Group index of each of n units, groups as equal as possible."""
    return np.arange(n) * groups // n


def simulate_roemetz(
    model: RoeMetz, n_readers: int, n_pos: int, n_neg: int, rng: np.random.Generator, groups: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """(scores (2, readers, cases) with NaN where unread, truth (cases,) bool); positives first."""
    n_cases = n_pos + n_neg
    truth = np.arange(n_cases) < n_pos
    mu = np.where(truth, model.mu_pos, 0.0)
    sd_r, sd_c, sd_rc = np.sqrt([model.var_r, model.var_c, model.var_rc])

    def term(sd: float, shape: tuple[int, ...]) -> np.ndarray:
        return rng.normal(0, sd, shape) if sd > 0 else np.zeros(shape)

    # Reader effects per truth class: column 0 for negatives, 1 for positives, picked per case.
    shared = (
        term(sd_r, (n_readers, 2))[:, truth.astype(int)] + term(sd_c, (n_cases,)) + term(sd_rc, (n_readers, n_cases))
    )
    scores = np.empty((2, n_readers, n_cases))
    for m in range(2):
        own = (
            term(sd_r, (n_readers, 2))[:, truth.astype(int)]
            + term(sd_c, (n_cases,))
            + term(sd_rc, (n_readers, n_cases))
        )
        scores[m] = mu + model.delta * m * truth + shared + own
    if groups > 1:
        # Positives and negatives are split separately so every group has both.
        case_group = np.concatenate([split(n_pos, groups), split(n_neg, groups)])
        reader_group = split(n_readers, groups)
        scores[:, reader_group[:, None] != case_group[None, :]] = np.nan
    return scores, truth
