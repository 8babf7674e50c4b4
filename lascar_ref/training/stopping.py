"""When training stops — paper §4.2 (early stopping); docs/design.md §2.

`EarlyStopping`: stop after `patience` validations without an improvement of the stage's
validation Dice larger than `min_delta` (paper: patience 30, min delta 1e-4).
`NonFiniteBudget`: how many consecutive non-finite losses may be skipped before training stops.
With fp16, a GradScaler legitimately meets a few overflows while it calibrates its scale, so a
few skips are allowed; otherwise the first non-finite loss stops training.
Tests: tests/test_train_stopping.py
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

FP16_SKIPS = 5  # consecutive non-finite fp16 steps allowed before training stops


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


@dataclass
class NonFiniteBudget:
    """Skips left for consecutive non-finite losses; a finite step restores the allowance."""

    allowance: int
    left: int = -1

    def __post_init__(self) -> None:
        if self.left < 0:
            self.left = self.allowance

    @classmethod
    def for_amp(cls, amp_dtype: torch.dtype | None) -> NonFiniteBudget:
        """FP16_SKIPS under fp16 autocast, else 0 (the first non-finite loss stops training)."""
        return cls(FP16_SKIPS if amp_dtype == torch.float16 else 0)

    def spend(self) -> bool:
        """Use one skip; False when none was left (training must stop)."""
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    def reset(self) -> None:
        self.left = self.allowance
