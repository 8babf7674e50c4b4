"""Stage losses — paper §3.2, Eq. (3), (5), (8), (9).

  Eq. 3  L^(I)   = L_DiceCE(Y_hat_LA, Y_LA)
  Eq. 5  L^(II)  = beta_LA * L_LA + beta_scar * L_scar,   beta_LA = 0.3, beta_scar = 0.7
         L_LA    = L_DiceCE(Y_hat_LA, Y_LA)
  Eq. 8  L_scar  = l_scar(W . Y_hat_scar, W . Y_scar), read as the W-weighted DiceCE (dice_ce.py)
         with W = 1 + alpha(t) M_wall (Eq. 7, wall_weight.py)
  Eq. 9  L^(III) = L_DiceCE(Y_hat_scar, Y_scar)

Each function returns a dict of float32 scalars: "loss" (the one to back-propagate) and every
term of the equation, for the training log (docs/design.md §2).
Tests: tests/test_eq5_stage_losses.py
"""

from __future__ import annotations

import torch

from .dice_ce import LAM, dice_ce_loss
from .wall_weight import spatial_weight

BETA_LA = 0.3  # Eq. 5
BETA_SCAR = 0.7  # Eq. 5


def stage1_loss(
    logit_la: torch.Tensor, y_la: torch.Tensor, lam: float = LAM
) -> dict[str, torch.Tensor]:
    """Eq. 3; tensors (B, 1, X, Y, Z) -> {"loss", "la_dice", "la_ce"}."""
    t = dice_ce_loss(logit_la, y_la, lam)
    return {"loss": t["loss"], "la_dice": t["dice"], "la_ce": t["ce"]}


def combine_stage2(
    l_la: torch.Tensor, l_scar: torch.Tensor, beta_la: float = BETA_LA, beta_scar: float = BETA_SCAR
) -> torch.Tensor:
    """Eq. 5: beta_LA * L_LA + beta_scar * L_scar."""
    return beta_la * l_la + beta_scar * l_scar


def stage2_loss(
    logit_la: torch.Tensor,
    logit_scar: torch.Tensor,
    y_la: torch.Tensor,
    y_scar: torch.Tensor,
    wall: torch.Tensor,
    alpha_t: float,
    beta_la: float = BETA_LA,
    beta_scar: float = BETA_SCAR,
    lam: float = LAM,
) -> dict[str, torch.Tensor]:
    """Eq. 5 with the wall-weighted scar term of Eq. 7-8; tensors (B, 1, X, Y, Z).

    Returns {"loss", "la", "la_dice", "la_ce", "scar", "scar_dice", "scar_ce"}.
    """
    la = dice_ce_loss(logit_la, y_la, lam)
    scar = dice_ce_loss(logit_scar, y_scar, lam, weight=spatial_weight(wall, alpha_t))
    return {
        "loss": combine_stage2(la["loss"], scar["loss"], beta_la, beta_scar),
        "la": la["loss"],
        "la_dice": la["dice"],
        "la_ce": la["ce"],
        "scar": scar["loss"],
        "scar_dice": scar["dice"],
        "scar_ce": scar["ce"],
    }


def stage3_loss(
    logit_scar: torch.Tensor, y_scar: torch.Tensor, lam: float = LAM
) -> dict[str, torch.Tensor]:
    """Eq. 9; tensors (B, 1, X, Y, Z) -> {"loss", "scar_dice", "scar_ce"}."""
    t = dice_ce_loss(logit_scar, y_scar, lam)
    return {"loss": t["loss"], "scar_dice": t["dice"], "scar_ce": t["ce"]}
