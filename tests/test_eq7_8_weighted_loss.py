"""Eq. 7-8: W = 1 + alpha(t) M_wall and the W-weighted scar DiceCE (docs/design.md §3)."""

import math

import pytest
import torch

from lascar_ref.losses import alpha_schedule, dice_ce_loss, spatial_weight

EPS = 1e-5
LN3 = math.log(3.0)


def test_alpha_schedule_endpoints():
    assert alpha_schedule(0) == 0.0
    assert alpha_schedule(25) == pytest.approx(0.5)
    assert alpha_schedule(50) == 1.0 and alpha_schedule(200) == 1.0
    assert alpha_schedule(10, alpha_max=2.0, ramp_epochs=20) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        alpha_schedule(-1)


def test_weight_map():
    wall = torch.tensor([0.0, 1.0, 1.0, 0.0]).view(1, 1, 4, 1, 1)
    assert spatial_weight(wall, 0.5).flatten().tolist() == [1.0, 1.5, 1.5, 1.0]


def test_constant_weight_gives_unweighted_loss():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 1, 6, 5, 4, generator=g)
    target = (torch.rand(2, 1, 6, 5, 4, generator=g) > 0.8).float()
    plain = dice_ce_loss(logits, target)
    zero_alpha = dice_ce_loss(
        logits, target, weight=spatial_weight(torch.rand(2, 1, 6, 5, 4) > 0.5, 0.0)
    )
    assert torch.equal(zero_alpha["loss"], plain["loss"])
    for c in (
        1.7,
        2.0,
        10.0,
    ):  # wall everywhere (scar confined to the wall): W constant = 1 + alpha
        const = dice_ce_loss(logits, target, weight=spatial_weight(torch.ones_like(target), c - 1))
        assert torch.allclose(const["loss"], plain["loss"], atol=1e-7, rtol=0)


def test_weighted_four_voxel_case_by_hand():
    logits = torch.tensor([0.0, LN3, -LN3, LN3]).view(1, 1, 4, 1, 1)  # p = 0.5, 0.75, 0.25, 0.75
    target = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 4, 1, 1)
    wall = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 4, 1, 1)
    w = [
        2 / 1.5,
        2 / 1.5,
        1 / 1.5,
        1 / 1.5,
    ]  # W = 1 + 1 * M = (2, 2, 1, 1), divided by its mean 1.5
    p, y = [0.5, 0.75, 0.25, 0.75], [1, 1, 0, 0]
    num = 2 * sum(wi * pi * yi for wi, pi, yi in zip(w, p, y)) + EPS
    den = sum(wi * pi for wi, pi in zip(w, p)) + sum(wi * yi for wi, yi in zip(w, y)) + EPS
    bce = [-math.log(0.5), -math.log(0.75), -math.log(0.75), -math.log(0.25)]
    out = dice_ce_loss(logits, target, weight=spatial_weight(wall, 1.0))
    assert out["dice"].item() == pytest.approx(1 - num / den, abs=1e-6)
    assert out["ce"].item() == pytest.approx(
        sum(wi * b for wi, b in zip(w, bce)) / sum(w), abs=1e-6
    )


def _label_gradient(alpha):
    """|dL/dlogit| at a scar label inside the wall (voxel 2) and one outside it (voxel 6)."""
    logits = torch.zeros(1, 1, 8, 1, 1, requires_grad=True)
    target = torch.zeros(1, 1, 8, 1, 1)
    target[0, 0, 2] = target[0, 0, 6] = 1.0
    wall = torch.zeros_like(target)
    wall[0, 0, 1:4] = 1.0
    dice_ce_loss(logits, target, weight=spatial_weight(wall, alpha))["loss"].backward()
    g = logits.grad.flatten().abs()
    return g[2].item(), g[6].item()


def test_label_outside_wall_contributes_less_once_alpha_positive():
    inside, outside = _label_gradient(0.0)
    assert inside == pytest.approx(outside)
    for alpha in (0.2, 1.0):
        inside, outside = _label_gradient(alpha)
        assert outside < inside
