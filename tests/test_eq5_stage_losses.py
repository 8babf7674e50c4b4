"""Eq. 3, 5, 9 stage losses (lascar_ref/losses/stage_losses.py) and gradient flow, fp32 and bf16."""

import pytest
import torch

from lascar_ref.losses import combine_stage2, dice_ce_loss, stage1_loss, stage2_loss, stage3_loss


def test_eq5_combines_stub_losses_with_03_07():
    assert combine_stage2(torch.tensor(2.0), torch.tensor(10.0)).item() == pytest.approx(
        0.3 * 2.0 + 0.7 * 10.0
    )
    assert (
        combine_stage2(torch.tensor(1.0), torch.tensor(0.0), beta_la=0.5, beta_scar=0.5).item()
        == 0.5
    )


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (2, 1, 8, 8, 4)
    y_la = (torch.rand(shape, generator=g) > 0.5).float()
    y_scar = (torch.rand(shape, generator=g) > 0.9).float()
    wall = (torch.rand(shape, generator=g) > 0.7).float()
    labels = torch.cat([y_la, y_scar, wall], dim=1)  # (B, 3, X, Y, Z): LA, scar, wall (labels.py)
    return torch.randn(shape, generator=g), torch.randn(shape, generator=g), labels


def test_stage_losses_terms():
    la, scar, labels = _batch()
    y_la, y_scar = labels[:, 0:1], labels[:, 1:2]
    s2 = stage2_loss((la, scar), labels, alpha_t=0.6)
    assert s2["loss"].item() == pytest.approx(
        0.3 * s2["la"].item() + 0.7 * s2["scar"].item(), abs=1e-6
    )
    assert s2["la"] == stage1_loss(la, labels)["loss"]  # L_LA of Eq. 5 is L^(I)
    assert s2["scar"] != stage3_loss(scar, labels)["loss"]  # the wall weight changes L_scar
    s2_no_wall = stage2_loss((la, scar), labels, alpha_t=0.0)
    assert torch.equal(s2_no_wall["scar"], stage3_loss(scar, labels)["loss"])
    assert torch.equal(stage3_loss(scar, labels)["loss"], dice_ce_loss(scar, y_scar)["loss"])
    assert torch.equal(stage1_loss(la, labels)["loss"], dice_ce_loss(la, y_la)["loss"])


@pytest.mark.parametrize("autocast", [False, True])
def test_gradients_flow_fp32_and_bf16(autocast):
    _, _, labels = _batch(1)
    conv = torch.nn.Conv3d(1, 2, 3, padding=1)
    x = torch.randn(2, 1, 8, 8, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        out = conv(x)
        assert out.dtype == (torch.bfloat16 if autocast else torch.float32)
        terms = stage2_loss((out[:, :1], out[:, 1:]), labels, alpha_t=1.0)
    assert all(t.dtype == torch.float32 for t in terms.values())
    terms["loss"].backward()
    assert torch.isfinite(conv.weight.grad).all() and conv.weight.grad.abs().sum() > 0
    for fn in (lambda z: stage1_loss(z, labels), lambda z: stage3_loss(z, labels)):
        z = torch.randn(2, 1, 8, 8, 4, requires_grad=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            fn(z.to(torch.bfloat16) if autocast else z)["loss"].backward()
        assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
