"""Spatial weight map and its schedule — paper §3.2, Eq. (7):  W = 1 + alpha(t) * M_wall

alpha(t) (`alpha_t`) "is gradually increased during training"; docs/design.md §2 settles the ramp.
Deviation (the paper gives no schedule): alpha(t) = alpha_max * min(t / ramp_epochs, 1), t the
0-based epoch, alpha_max = 1.0 and ramp_epochs = 50 by default (both configurable); Stage II keeps
no checkpoint and does not stop before alpha(t) reaches alpha_max (docs/design.md §2,
stage_table.selection_start).
Tests: tests/test_eq7_8_weighted_loss.py
"""

from __future__ import annotations

import torch

ALPHA_MAX = 1.0  # docs/design.md §2
RAMP_EPOCHS = 50  # docs/design.md §2


def alpha_schedule(
    epoch: int, alpha_max: float = ALPHA_MAX, ramp_epochs: int = RAMP_EPOCHS
) -> float:
    """alpha(t): linear from 0 at epoch 0 to alpha_max at epoch `ramp_epochs`, constant after."""
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    if ramp_epochs <= 0:
        return float(alpha_max)
    return float(alpha_max) * min(epoch / ramp_epochs, 1.0)


def spatial_weight(wall: torch.Tensor, alpha_t: float) -> torch.Tensor:
    """Eq. 7: W = 1 + alpha_t * M_wall; wall (B, 1, X, Y, Z) binary -> float32 (B, 1, X, Y, Z)."""
    return 1.0 + float(alpha_t) * wall.float()
