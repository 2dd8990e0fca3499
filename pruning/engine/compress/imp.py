"""Iterative magnitude pruning (IMP) with fine-tuning between levels, lottery-ticket rewinding as an option.

Levels are sparsities, in increasing order. Level 0 is the dense model. To reach each later level from the
previous one: zero the smallest-|w| surviving Conv2d/Linear weights over the whole network (global L1, ties
by flat index) until exactly ``round(level * n)`` are zero, so masks are nested; with ``rewind`` put the
survivors (and every other parameter and buffer) back to the dense weights the sweep started from; then
fine-tune for ``finetune_epochs`` epochs on the training set with the experiment's training settings
(``train.train_one_epoch``: Adam, BCE, augmentation), with the mask held by ``torch.nn.utils.prune`` so
pruned weights stay exactly zero. The training set and its epoch come in as a ``train.TrainingSet``: this
module never imports the training code (which imports the sweep, which imports the registry: a cycle).
The rewind point is the trained dense model because that is the only early weight state the platform
keeps (it saves no checkpoints from the start of training).

Resumable: after each level the fine-tuned state and mask go to ``scratch/level-<level>.pt`` before the
level's predictions are stored, so a resumed sweep reloads the last level it finished instead of redoing
the chain; each level's fine-tune draws from a generator seeded by (seed, level), so a resumed sweep gives
what an uninterrupted one gives.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.utils.prune as torch_prune
from torch import nn

from ..nets import prunable_modules
from ..prune import achieved_sparsity, n_pruned
from .base import Compressor, sparse_storage
from .errors import MethodError


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class IterativeMagnitude(Compressor):
    name = "imp"  # its registry entry

    def __init__(self, model: nn.Module, **kwargs) -> None:
        super().__init__(model, **kwargs)
        if self.training is None:
            raise MethodError("imp: fine-tuning needs the training set; none given")
        self.epochs = int(self.params.get("finetune_epochs", 1))
        self.rewind = bool(self.params.get("rewind", False))
        self.dense = _clone_state(model)  # restored at the end; also the rewind point
        self.n_weights = sum(m.weight.numel() for _, m in prunable_modules(model))
        self.level = 0.0  # the level the model's weights are at
        self.keep = [torch.ones_like(m.weight, dtype=torch.bool) for _, m in prunable_modules(model)]
        self.log: dict = {}  # what the last level's fine-tune did (for the sidecar)
        self._loaded = False  # whether a resumed sweep's state was looked for in scratch

    def apply(self, model: nn.Module, level: float) -> nn.Module:
        if not self._loaded:
            self._resume(model, level)
        if level < self.level:
            raise MethodError(f"imp: level {level:g} comes after {self.level:g}; levels must increase")
        if level == self.level:
            return model
        self.keep = self.prune_step(model, level)
        self.log = {"level": level, "rewound": self.rewind, "train_loss_pruned": self.training.loss(model)}
        self.log["epoch_losses"] = self.finetune(model, level)
        self.log["train_loss_finetuned"] = self.training.loss(model)
        self.level = level
        self._save(model)
        return model

    @torch.no_grad()
    def prune_step(self, model: nn.Module, level: float) -> list[torch.Tensor]:
        """Zero the smallest surviving |w| globally until round(level * n) weights are zero; with rewinding,
        the model first goes back to the dense weights. Returns the keep-masks (True = kept) per layer."""
        modules = prunable_modules(model)
        scores = torch.cat([m.weight.detach().abs().reshape(-1).float() for _, m in modules])
        kept = torch.cat([k.reshape(-1).to(scores.device) for k in self.keep])
        scores = torch.where(kept, scores, torch.full_like(scores, -1.0))  # already pruned: first to go
        drop = torch.sort(scores, stable=True).indices[: n_pruned(level, scores.numel())]
        keep_flat = torch.ones_like(kept)
        keep_flat[drop] = False
        if bool((keep_flat & ~kept).any()):
            raise MethodError(f"imp: level {level:g} would revive pruned weights (levels must increase)")
        if self.rewind:
            model.load_state_dict(self.dense)
        masks, start = [], 0
        for _, m in modules:
            keep = keep_flat[start : start + m.weight.numel()].view(m.weight.shape).to(m.weight.device)
            m.weight.mul_(keep)
            masks.append(keep)
            start += m.weight.numel()
        return masks

    def finetune(self, model: nn.Module, level: float) -> list[float]:
        """``finetune_epochs`` epochs of the training loop with the mask fixed; the mean train loss of each."""
        if self.epochs == 0:
            return []
        config = self.training.config
        modules = [m for _, m in prunable_modules(model)]
        for m, keep in zip(modules, self.keep, strict=True):
            torch_prune.custom_from_mask(m, "weight", keep)  # weight = weight_orig * mask in every forward
        deterministic = torch.are_deterministic_algorithms_enabled()
        try:
            if self._device(model).type == "cpu":
                torch.use_deterministic_algorithms(True, warn_only=True)  # as train_run: reproducible on CPU
            optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + round(level * 1e6))
            losses = [self.training.epoch(model, optimizer, generator) for _ in range(self.epochs)]
        finally:
            torch.use_deterministic_algorithms(deterministic)
            for m in modules:
                torch_prune.remove(m, "weight")  # the masked weight becomes a plain parameter again
        model.eval()
        return losses

    def restore(self, model: nn.Module) -> None:
        model.load_state_dict(self.dense)
        self.level = 0.0
        self.keep = [torch.ones_like(k) for k in self.keep]

    def storage(self, net: nn.Module) -> dict:
        return sparse_storage(net)

    def achieved(self, net: nn.Module) -> dict:
        return {**achieved_sparsity(net), "finetune": dict(self.log)}

    # --- the pieces --------------------------------------------------------------------------------

    @staticmethod
    def _device(model: nn.Module) -> torch.device:
        return next(model.parameters()).device

    def _file(self, level: float) -> Path:
        return Path(self.scratch) / f"level-{level!r}.pt"

    def _save(self, model: nn.Module) -> None:
        if self.scratch is None:
            return
        from ..train_parts import save_checkpoint

        Path(self.scratch).mkdir(parents=True, exist_ok=True)
        state = {"level": self.level, "model": model.state_dict(), "keep": self.keep, "log": self.log}
        save_checkpoint(state, self._file(self.level))
        for older in Path(self.scratch).glob("level-*.pt"):  # a resume needs the furthest level only
            if older != self._file(self.level):
                older.unlink(missing_ok=True)

    def _resume(self, model: nn.Module, level: float) -> None:
        """Load the furthest level at or below ``level`` that an earlier run of this sweep saved."""
        self._loaded = True
        if self.scratch is None or not Path(self.scratch).is_dir():
            return
        from ..train_parts import load_checkpoint

        saved = [float(p.stem.removeprefix("level-")) for p in Path(self.scratch).glob("level-*.pt")]
        below = [s for s in saved if s <= level]
        if not below:
            return
        state = load_checkpoint(self._file(max(below)))
        model.load_state_dict(state["model"])
        dev = self._device(model)
        self.keep = [k.to(dev) for k in state["keep"]]
        self.level, self.log = float(state["level"]), dict(state["log"])
