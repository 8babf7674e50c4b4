"""Losses and the anatomical prior: Eq. 1, 3, 5, 6, 7, 8, 9 (paper §3; docs/design.md §2-§3)."""

from .dice_ce import bce_loss, dice_ce_loss, soft_dice_loss
from .stage_losses import (
    WALL_WEIGHTINGS,
    alpha_schedule,
    combine_stage2,
    scar_weight,
    spatial_weight,
    stage1_loss,
    stage2_loss,
    stage3_loss,
    suppressing_weight,
)
from .wall_mask import wall_mask

__all__ = [
    "bce_loss",
    "dice_ce_loss",
    "soft_dice_loss",
    "combine_stage2",
    "stage1_loss",
    "stage2_loss",
    "stage3_loss",
    "wall_mask",
    "alpha_schedule",
    "spatial_weight",
    "suppressing_weight",
    "scar_weight",
    "WALL_WEIGHTINGS",
]
