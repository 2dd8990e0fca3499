"""Seed-by-seed accumulation: the report's inputs without ever holding every seed's predictions.

At paper scale the predictions are 30 seeds x 20 sparsities x 20,000 images x 20 classes: 960 MB
as float32, and twice that again in the copies a stack and a float64 mean make. The report needs
far less: the per-class metrics of every (seed, sparsity) -- [seeds, S, C] -- and, for the PIEs,
the seed-averaged scores [S, N, C]. :class:`SeedAccumulator` takes one seed's predictions at a
time, computes that seed's metrics (:func:`analysis.core.metrics.class_metrics`, exact) and adds the
scores to a float64 running sum; the caller can then drop the seed. Memory is one seed plus the
sum, whatever the number of seeds.

The running sum adds seeds in order in float64, exactly as ``probs.mean(axis=0, dtype=float64)``
does, so :meth:`SeedAccumulator.ensemble_mean` is bitwise the stacked mean.
"""

from __future__ import annotations

import numpy as np

from .metrics import ClassMetrics, MetricsInputError, Progress, check_labels, class_metrics


class SeedAccumulator:
    """Per-seed metrics and the running sum of scores for ``labels`` [N, C] at ``n_sparsities``."""

    def __init__(self, labels: np.ndarray, n_sparsities: int, *, keep_sum: bool = True) -> None:
        self.labels = check_labels(labels)
        self.n_sparsities = int(n_sparsities)
        self.keep_sum = keep_sum
        self._auc: list[np.ndarray] = []
        self._ap: list[np.ndarray] = []
        self._f1: list[np.ndarray] = []
        self._sum: np.ndarray | None = None

    @property
    def n_seeds(self) -> int:
        return len(self._auc)

    def add(self, probs: np.ndarray, progress: Progress | None = None) -> None:
        """Take one seed's scores [S, N, C] (float32 stays float32: exact, and half the memory)."""
        p = np.asarray(probs)
        want = (self.n_sparsities, *self.labels.shape)
        if p.shape != want:
            raise MetricsInputError(f"seed {self.n_seeds}: probs shape {p.shape}, expected [S, N, C] = {want}")
        m = class_metrics(p, self.labels, progress=progress)
        self._auc.append(m.auc)
        self._ap.append(m.ap)
        self._f1.append(m.f1)
        if self.keep_sum:
            if self._sum is None:
                self._sum = np.zeros(p.shape, dtype=np.float64)
            self._sum += p

    def metrics(self) -> ClassMetrics:
        """AUROC, AP and F1 of every seed, [seeds, S, C]."""
        if not self._auc:
            raise MetricsInputError("no seed added")
        return ClassMetrics(np.stack(self._auc), np.stack(self._ap), np.stack(self._f1))

    def ensemble_mean(self) -> np.ndarray:
        """Seed-averaged scores [S, N, C] in float64 (the sum is divided in place: call once)."""
        if self._sum is None:
            raise MetricsInputError("no seed added" if not self._auc else "accumulator keeps no sum")
        self._sum /= self.n_seeds
        mean, self._sum = self._sum, None
        return mean
