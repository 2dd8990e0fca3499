"""Prediction store: one ``.npz`` per seed with sigmoid outputs at every sparsity.

File format (``np.savez``, no pickles):

* ``probs``        float32 [S, N, C]  sigmoid outputs; rows of unfinished sparsities are NaN
* ``sparsities``   float64 [S]
* ``done``         bool    [S]        which sparsities are finished
* ``image_ids``    str     [N]
* ``class_names``  str     [C]

A JSON sidecar (``sidecar_path``) records the pruning method, seed and achieved sparsity per
layer for every finished sparsity. Both files are written atomically (temp file in the same
folder, then ``os.replace``), so a crash leaves either the old or the new file, never half a file.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.files import atomic_write
from common.sparsity import same_sweep, sparsity_index

_KEYS = ("probs", "sparsities", "done", "image_ids", "class_names")


def sidecar_path(path: str | os.PathLike) -> Path:
    """``predictions.npz`` -> ``predictions.sparsity.json``."""
    path = Path(path)
    return path.with_name(path.stem + ".sparsity.json")


def read_sidecar(path: str | os.PathLike) -> dict:
    side = sidecar_path(path)
    if not side.is_file():
        return {}
    try:
        return json.loads(side.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{side} is not valid JSON: {exc}") from exc


def write_sidecar(path: str | os.PathLike, data: dict) -> None:
    text = json.dumps(data, indent=1, sort_keys=True).encode()
    atomic_write(sidecar_path(path), lambda f: f.write(text))


@dataclass
class PredictionSet:
    """Sigmoid predictions of one model (seed) at every sparsity.

    ``probs[s, i, c]`` is the probability of class ``c`` for image ``i`` at ``sparsities[s]``;
    ``done[s]`` says whether that sparsity is finished (unfinished rows are NaN).
    """

    probs: np.ndarray
    sparsities: np.ndarray
    image_ids: list[str]
    class_names: list[str]
    done: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.probs = np.asarray(self.probs, dtype=np.float32)
        self.sparsities = np.asarray(self.sparsities, dtype=np.float64).reshape(-1)
        self.image_ids = [str(i) for i in self.image_ids]
        self.class_names = [str(c) for c in self.class_names]
        if self.done is None:
            self.done = np.ones(len(self.sparsities), dtype=bool)
        self.done = np.asarray(self.done, dtype=bool).reshape(-1)
        self.validate()

    def validate(self, source: str = "PredictionSet") -> None:
        s, n, c = len(self.sparsities), len(self.image_ids), len(self.class_names)
        if self.probs.ndim != 3:
            raise ValueError(f"{source}: probs must be [S, N, C], got shape {self.probs.shape}")
        if self.probs.shape != (s, n, c):
            raise ValueError(
                f"{source}: probs shape {self.probs.shape} does not match "
                f"{s} sparsities x {n} image ids x {c} class names"
            )
        if self.done.shape != (s,):
            raise ValueError(f"{source}: done has shape {self.done.shape}, expected ({s},)")
        if len(set(self.image_ids)) != n:
            raise ValueError(f"{source}: image ids are not unique")
        if len(set(self.class_names)) != c:
            raise ValueError(f"{source}: class names are not unique")
        if len(set(self.sparsities.tolist())) != s:
            raise ValueError(f"{source}: duplicate sparsities {self.sparsities.tolist()}")
        bad = self.done & ~np.isfinite(self.probs).all(axis=(1, 2))
        if bad.any():
            raise ValueError(
                f"{source}: sparsity {self.sparsities[bad][0]} is marked done but has non-finite probabilities"
            )

    @classmethod
    def empty(cls, sparsities, image_ids, class_names) -> PredictionSet:
        """A store with nothing done yet (probs NaN)."""
        shape = (len(sparsities), len(image_ids), len(class_names))
        return cls(
            probs=np.full(shape, np.nan, dtype=np.float32),
            sparsities=sparsities,
            image_ids=image_ids,
            class_names=class_names,
            done=np.zeros(len(sparsities), dtype=bool),
        )

    @property
    def complete(self) -> bool:
        return bool(self.done.all())

    def index_of(self, sparsity: float) -> int:
        """Position of ``sparsity`` (tolerant to 0.9 vs 0.9000000000000001)."""
        i = sparsity_index(self.sparsities, sparsity)
        if i is None:
            raise ValueError(f"sparsity {sparsity} not in {self.sparsities.tolist()}")
        return i

    def save(self, path: str | os.PathLike) -> None:
        self.validate()
        arrays = {
            "probs": self.probs,
            "sparsities": self.sparsities,
            "done": self.done,
            "image_ids": np.asarray(self.image_ids, dtype=str),
            "class_names": np.asarray(self.class_names, dtype=str),
        }
        atomic_write(path, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike) -> PredictionSet:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                missing = [k for k in _KEYS if k not in z.files]
                if missing:
                    raise ValueError(f"{path}: missing arrays {missing}")
                data = {k: z[k] for k in _KEYS}
        except (OSError, EOFError, zipfile.BadZipFile) as exc:  # BadZipFile: a truncated or foreign file
            raise ValueError(f"{path}: cannot read prediction store: {exc}") from exc
        try:
            return cls(
                probs=data["probs"],
                sparsities=data["sparsities"],
                image_ids=data["image_ids"].tolist(),
                class_names=data["class_names"].tolist(),
                done=data["done"],
            )
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc


def stack_seeds(
    sets: list[PredictionSet],
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Stack per-seed stores into ``(probs [seeds, S, N, C], sparsities, image_ids, class_names)``.

    Every set must be complete and agree on sparsities, image ids and class names (same order).
    """
    if not sets:
        raise ValueError("no prediction sets to stack")
    first = sets[0]
    for i, ps in enumerate(sets):
        if not ps.complete:
            todo = ps.sparsities[~ps.done].tolist()
            raise ValueError(f"prediction set {i} is unfinished (sparsities {todo} not done)")
        if not same_sweep(ps.sparsities, first.sparsities):
            raise ValueError(
                f"prediction set {i} has sparsities {ps.sparsities.tolist()}, set 0 has {first.sparsities.tolist()}"
            )
        if ps.image_ids != first.image_ids:
            raise ValueError(f"prediction set {i} has other image ids than set 0")
        if ps.class_names != first.class_names:
            raise ValueError(f"prediction set {i} has classes {ps.class_names}, set 0 has {first.class_names}")
    probs = np.stack([ps.probs for ps in sets])
    return probs, first.sparsities.copy(), list(first.image_ids), list(first.class_names)
