"""Stage losses and the wall weight — paper §3.2, Eq. (3), (5), (7), (8), (9).

  Eq. 3  L^(I)   = L_DiceCE(Y_hat_LA, Y_LA)
  Eq. 5  L^(II)  = beta_LA * L_LA + beta_scar * L_scar,   beta_LA = 0.3, beta_scar = 0.7
         L_LA    = L_DiceCE(Y_hat_LA, Y_LA)
  Eq. 7  W       = 1 + alpha(t) * M_wall                     (`spatial_weight`, `alpha_schedule`)
  Eq. 8  L_scar  = l_scar(W . Y_hat_scar, W . Y_scar), read as the W-weighted DiceCE (dice_ce.py)
  Eq. 9  L^(III) = L_DiceCE(Y_hat_scar, Y_scar)

The stage table (stage_table.py) names these three functions as the stages' losses, and the
training step calls them directly: `loss(outputs, labels, lam=..., [alpha_t=..., beta_la=...,
beta_scar=...])`, with `labels` the (B, 3, X, Y, Z) tensor of labels.py, read with its channel
slices LA, SCAR, WALL. Each returns a dict of float32 scalars: "loss" (the one to back-propagate)
and every term of the equation, for the training log (docs/design.md §2).
The opt-in reading `--wall-weighting suppress` (`suppressing_weight`, `scar_weight`):
  W_s     = (1 + alpha(t) * [M Y + (1 - M)(1 - Y)]) / (1 + alpha(t) * (1 - M) Y)
with M = M_wall and Y the scar label: per voxel 1 + alpha for labelled scar in the band and for
a negative outside it, 1 for a negative in the band, 1/(1+alpha) for labelled scar outside.
Deviation: (opt-in; not the paper's loss, whose default `paper` is W) docs/design.md §3 shows by
hand that under W every outside voxel, the noisy label and the negative alike, loses weight as
alpha grows (W is 1 there against 1 + alpha in the band, and the loss is a ratio over the
weights), so the prior cannot push an outside false positive down more than alpha = 0 does.
W_s keeps what the paper asks of the prior (learn less from outside labels, more from scar in
the wall) and adds the half the paper claims but W cannot give: an outside negative gains
weight, so a false positive outside the band is pushed down more as alpha grows. At alpha = 0
both are 1 everywhere: Eq. 1 exactly.
Deviation (the paper gives no schedule for alpha(t), "gradually increased during training"):
alpha(t) = alpha_max * min(t / ramp_epochs, 1), t the 0-based epoch, alpha_max = 1.0 and
ramp_epochs = 50 by default (both configurable); Stage II keeps no checkpoint and does not stop
before alpha(t) reaches alpha_max (docs/design.md §2, stage_table.selection_start).
Tests: tests/test_eq5_stage_losses.py, tests/test_eq7_8_weighted_loss.py,
tests/test_eq7_8_wall_gradient.py
"""

from __future__ import annotations

import torch

from ..labels import LA, SCAR, WALL
from .dice_ce import LAM, dice_ce_loss

BETA_LA = 0.3  # Eq. 5
BETA_SCAR = 0.7  # Eq. 5
ALPHA_MAX = 1.0  # Eq. 7, docs/design.md §2
RAMP_EPOCHS = 50  # Eq. 7, docs/design.md §2
WALL_WEIGHTINGS = ("paper", "suppress")  # --wall-weighting; "paper" is Eq. 7


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


def suppressing_weight(wall: torch.Tensor, scar: torch.Tensor, alpha_t: float) -> torch.Tensor:
    """W_s of the module docstring; wall M and scar label Y (B, 1, X, Y, Z) in [0, 1] ->
    float32 (B, 1, X, Y, Z), all 1 at alpha_t = 0."""
    a, m, y = float(alpha_t), wall.float(), scar.float()
    emphasised = m * y + (1 - m) * (1 - y)  # labelled scar in the band, negatives outside it
    return (1 + a * emphasised) / (1 + a * (1 - m) * y)


def scar_weight(
    wall_weighting: str, wall: torch.Tensor, scar: torch.Tensor, alpha_t: float
) -> torch.Tensor:
    """The weight map of Eq. 8's scar loss under `wall_weighting` (WALL_WEIGHTINGS);
    (B, 1, X, Y, Z) -> float32 (B, 1, X, Y, Z)."""
    if wall_weighting == "paper":
        return spatial_weight(wall, alpha_t)
    if wall_weighting == "suppress":
        return suppressing_weight(wall, scar, alpha_t)
    raise ValueError(f"wall_weighting must be one of {WALL_WEIGHTINGS}, got {wall_weighting!r}")


def stage1_loss(
    logit_la: torch.Tensor, labels: torch.Tensor, *, lam: float = LAM
) -> dict[str, torch.Tensor]:
    """Eq. 3. logit_la (B, 1, X, Y, Z), labels (B, 3, X, Y, Z) -> {"loss", "la_dice", "la_ce"}."""
    t = dice_ce_loss(logit_la, labels[:, LA], lam)
    return {"loss": t["loss"], "la_dice": t["dice"], "la_ce": t["ce"]}


def combine_stage2(
    l_la: torch.Tensor, l_scar: torch.Tensor, beta_la: float = BETA_LA, beta_scar: float = BETA_SCAR
) -> torch.Tensor:
    """Eq. 5: beta_LA * L_LA + beta_scar * L_scar."""
    return beta_la * l_la + beta_scar * l_scar


def stage2_loss(
    outputs: tuple[torch.Tensor, torch.Tensor],
    labels: torch.Tensor,
    *,
    alpha_t: float,
    beta_la: float = BETA_LA,
    beta_scar: float = BETA_SCAR,
    lam: float = LAM,
    wall_weighting: str = "paper",
) -> dict[str, torch.Tensor]:
    """Eq. 5 with the wall-weighted scar term of Eq. 7-8 (W = 1 + alpha_t * M_wall; with
    wall_weighting "suppress" the opt-in W_s, `suppressing_weight`).

    outputs: (logit_la, logit_scar) of Eq. 4, each (B, 1, X, Y, Z); labels (B, 3, X, Y, Z).
    Returns {"loss", "la", "la_dice", "la_ce", "scar", "scar_dice", "scar_ce"}.
    """
    logit_la, logit_scar = outputs
    la = dice_ce_loss(logit_la, labels[:, LA], lam)
    w = scar_weight(wall_weighting, labels[:, WALL], labels[:, SCAR], alpha_t)  # Eq. 7
    scar = dice_ce_loss(logit_scar, labels[:, SCAR], lam, weight=w)  # Eq. 8
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
    logit_scar: torch.Tensor, labels: torch.Tensor, *, lam: float = LAM
) -> dict[str, torch.Tensor]:
    """Eq. 9. logit_scar (B, 1, X, Y, Z), labels (B, 3, X, Y, Z) ->
    {"loss", "scar_dice", "scar_ce"}."""
    t = dice_ce_loss(logit_scar, labels[:, SCAR], lam)
    return {"loss": t["loss"], "scar_dice": t["dice"], "scar_ce": t["ce"]}
