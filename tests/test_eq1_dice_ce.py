"""Eq. 1 DiceCE (lascar_ref/losses/dice_ce.py) on hand-computed cases, limits, and MONAI parity."""

import math

import pytest
import torch

from lascar_ref.losses import dice_ce_loss

EPS = 1e-5
LN3 = math.log(3.0)


def four_voxels():
    # sigmoid(0) = 0.5, sigmoid(ln 3) = 0.75, sigmoid(-ln 3) = 0.25
    logits = torch.tensor([0.0, LN3, -LN3, LN3]).view(1, 1, 4, 1, 1)
    target = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 4, 1, 1)
    return logits, target


def test_four_voxel_case_by_hand():
    logits, target = four_voxels()
    # p = (0.5, 0.75, 0.25, 0.75), y = (1, 1, 0, 0), written out from Eq. 1
    dice = 1 - (2 * (0.5 * 1 + 0.75 * 1) + EPS) / ((0.5 + 0.75 + 0.25 + 0.75) + (1 + 1) + EPS)
    ce = -(math.log(0.5) + math.log(0.75) + math.log(1 - 0.25) + math.log(1 - 0.75)) / 4
    out = dice_ce_loss(logits, target)
    assert out["dice"].item() == pytest.approx(dice, abs=1e-6)
    assert out["ce"].item() == pytest.approx(ce, abs=1e-6)
    assert out["loss"].item() == pytest.approx(0.5 * dice + 0.5 * ce, abs=1e-6)


def test_lambda_limits():
    logits, target = four_voxels()
    full = dice_ce_loss(logits, target)
    assert dice_ce_loss(logits, target, lam=1.0)["loss"] == full["dice"]
    assert dice_ce_loss(logits, target, lam=0.0)["loss"] == full["ce"]
    with pytest.raises(ValueError, match="lam"):
        dice_ce_loss(logits, target, lam=1.5)


def test_dice_per_sample_then_batch_mean():
    logits, target = four_voxels()
    empty = torch.zeros_like(target)
    both = dice_ce_loss(torch.cat([logits, logits]), torch.cat([target, empty]))
    a, b = dice_ce_loss(logits, target), dice_ce_loss(logits, empty)
    assert both["dice"].item() == pytest.approx((a["dice"].item() + b["dice"].item()) / 2, abs=1e-7)
    assert both["ce"].item() == pytest.approx((a["ce"].item() + b["ce"].item()) / 2, abs=1e-7)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in shape"):
        dice_ce_loss(torch.zeros(1, 1, 4, 4, 4), torch.zeros(1, 1, 4, 4, 5))


def test_matches_monai_dice_ce(monai):
    from monai.losses import DiceCELoss

    g = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(3, 1, 8, 7, 5, generator=g)
    target = (torch.rand(3, 1, 8, 7, 5, generator=g) > 0.7).float()
    theirs = DiceCELoss(
        sigmoid=True, smooth_nr=EPS, smooth_dr=EPS, batch=False, lambda_dice=0.5, lambda_ce=0.5
    )
    assert dice_ce_loss(logits, target)["loss"].item() == pytest.approx(
        theirs(logits, target).item(), abs=1e-6
    )
