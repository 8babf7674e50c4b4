"""When training stops — paper §4.2 (early stopping); docs/design.md §2.

`EarlyStopping`: stop after `patience` validations without an improvement of the stage's
validation Dice larger than `min_delta` (paper: patience 30, min delta 1e-4).
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

    def update(self, value: float, epoch: int) -> bool:
        """Record a validation value; True if it improves on the best by more than min_delta.
        An epoch before start_epoch changes nothing (it can be neither best nor bad)."""
        if epoch < self.start_epoch:
            return False
        if value > self.best + self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def stop(self) -> bool:
        return self.bad_epochs >= self.patience

    def state(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load(self, state: dict) -> None:
        """Put back a state() (from a checkpoint, or rank 0's under torchrun)."""
        self.best, self.best_epoch, self.bad_epochs = (
            state[k] for k in ("best", "best_epoch", "bad_epochs")
        )
