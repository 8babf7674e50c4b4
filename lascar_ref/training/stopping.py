"""When training stops — paper §4.2 (early stopping); docs/design.md §2.

`EarlyStopping`: stop after `patience` validations without an improvement of the stage's
validation Dice larger than `min_delta` (paper: patience 30, min delta 1e-4). Where the Dice is
flat — within min_delta of the best, as when every epoch of a head that predicts nothing above
0.5 scores 0 — the soft Dice of the probabilities (training/validation.py) decides: an epoch tied
on Dice whose soft Dice beats the best's by more than min_delta is an improvement too (kept, and
patience restarts). Deviation: the paper's rule alone keeps the first eligible epoch whenever the
Dice ties, whatever the head has learned below the threshold (docs/design.md §2).
(What a non-finite loss does is the training step's: fit.NonFiniteBudget.)
Tests: tests/test_train_stopping.py
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class EarlyStopping:
    """Tracks the best validation value and the validations since it
    (all primitives, checkpointed)."""

    patience: int
    min_delta: float
    start_epoch: int = 0  # earlier epochs: neither kept nor counted (selection_start)
    best: float = -math.inf
    best_epoch: int = -1
    bad_epochs: int = 0
    best_soft: float = -math.inf  # the soft Dice of the best epoch (the tie-break)

    def update(self, value: float, epoch: int, soft: float | None = None) -> bool:
        """Record a validation value (and its soft Dice); True if it improves on the best by more
        than min_delta, or ties it within min_delta with a soft Dice better by more than
        min_delta. An epoch before start_epoch changes nothing (it can be neither best nor bad)."""
        if epoch < self.start_epoch:
            return False
        soft = -math.inf if soft is None or math.isnan(soft) else soft
        better = value > self.best + self.min_delta
        tied = abs(value - self.best) <= self.min_delta
        if better or (tied and soft > self.best_soft + self.min_delta):
            self.best, self.best_soft = max(value, self.best), soft
            self.best_epoch, self.bad_epochs = epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def stop(self) -> bool:
        return self.bad_epochs >= self.patience

    def state(self) -> dict:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "best_soft": self.best_soft,
        }

    def load(self, state: dict) -> None:
        """Put back a state() (from a checkpoint, or rank 0's under torchrun)."""
        self.best, self.best_epoch, self.bad_epochs = (
            state[k] for k in ("best", "best_epoch", "bad_epochs")
        )
        self.best_soft = state.get("best_soft", -math.inf)  # absent in older checkpoints
