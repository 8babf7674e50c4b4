"""DiceCE loss — paper §3.1, Eq. (1), and its W-weighted reading for Eq. (8) (docs/design.md §3).

  L_Dice   = 1 - (2 sum_i y_hat_i y_i + eps) / (sum_i y_hat_i + sum_i y_i + eps)
  L_CE     = -(1/N) sum_i [y_i log y_hat_i + (1 - y_i) log(1 - y_hat_i)]
  L_DiceCE = lam * L_Dice + (1 - lam) * L_CE

y_hat = sigmoid(logit); eps = 1e-5 in numerator and denominator (`eps`); lam = 0.5 (`lam`).
Reductions: Dice over all voxels of one sample, then the mean over the batch; CE the mean
over all voxels of one sample (computed from logits), then the mean over the batch. All in
float32, also under autocast.

With a voxel weight map w (Eq. 8 as read in docs/design.md §3):
  Dice_w = 1 - (2 sum w y_hat y + eps) / (sum w y_hat + sum w y + eps),  CE_w = sum w bce / sum w
where w is first divided by its per-sample mean. Deviation (documented choice): that
normalisation only changes how eps compares to the sums, and makes a constant W give exactly
Eq. (1) for any constant, the property the paper states below Eq. (8).
Tests: tests/test_eq1_dice_ce.py, tests/test_eq7_8_weighted_loss.py
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-5  # Eq. 1 smoothing (docs/design.md §3)
LAM = 0.5  # Eq. 1 trade-off lambda (docs/design.md §3)


def _flat(t: torch.Tensor) -> torch.Tensor:
    """(B, C, X, Y, Z) -> (B, C*X*Y*Z) in float32."""
    return t.reshape(t.shape[0], -1).float()


def _normalised(weight: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """Per-sample weight map with mean 1, (B, N); ones if weight is None."""
    if weight is None:
        return torch.ones_like(like)
    w = _flat(weight).expand_as(like)
    return w / w.mean(dim=1, keepdim=True)


def soft_dice_loss(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None, eps: float = EPS
) -> torch.Tensor:
    """Eq. 1 Dice term; logits, target (and weight):
    (B, 1, X, Y, Z). Mean over the batch -> scalar."""
    with torch.autocast(logits.device.type, enabled=False):
        p, y = torch.sigmoid(_flat(logits)), _flat(target)
        w = _normalised(weight, p)
        dice = (2 * (w * p * y).sum(1) + eps) / ((w * p).sum(1) + (w * y).sum(1) + eps)
        return (1 - dice).mean()


def bce_loss(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Eq. 1 CE term from logits; per-sample (weighted) voxel mean, then the batch mean ->
    scalar."""
    with torch.autocast(logits.device.type, enabled=False):
        z, y = _flat(logits), _flat(target)
        w = _normalised(weight, z)
        bce = F.binary_cross_entropy_with_logits(z, y, reduction="none")  # (B, N)
        return ((w * bce).sum(1) / w.sum(1)).mean()


def dice_ce_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    lam: float = LAM,
    weight: torch.Tensor | None = None,
    eps: float = EPS,
) -> dict[str, torch.Tensor]:
    """Eq. 1: {"loss": lam * Dice + (1 - lam) * CE, "dice": Dice, "ce": CE}, float32 scalars."""
    if logits.shape != target.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ in shape"
        )
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must lie in [0, 1] (Eq. 1), got {lam}")
    dice = soft_dice_loss(logits, target, weight, eps)
    ce = bce_loss(logits, target, weight)
    return {"loss": lam * dice + (1 - lam) * ce, "dice": dice, "ce": ce}
