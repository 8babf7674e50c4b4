"""What Eq. 7-8 do to a voxel outside the wall band, by hand (docs/design.md §3, "What the wall
weight can and cannot do").

A row of 8 voxels, the band M_wall on the first 4; labelled scar at voxels 0, 1 (in the band) and
at voxel 5 (outside: label noise); voxel 4 outside with label 0 (a false positive when predicted).
Every logit 0 (y_hat = 0.5). The gradient of the Stage II scar loss with respect to the logit of
voxel 4 (g_fp) and voxel 5 (g_noise), as alpha grows, under three readings of Eq. 8:
  ours     the W-weighted DiceCE of losses/dice_ce.py (w / mean(w); CE_w = sum w bce / sum w);
  literal  l(W . Y_hat, W . Y) with the Dice term only (the CE term is undefined: W . Y reaches
           1 + alpha > 1, no cross-entropy target);
  sum-CE   the CE term as sum(W bce) / N (W not normalised), for contrast;
  suppress the opt-in W_s of losses/stage_losses.py (--wall-weighting suppress), built from
           this analysis: the false positive's trend reversed, the noisy label's kept.
"""

import pytest
import torch

from lascar_ref.config import make_config
from lascar_ref.losses import (
    dice_ce_loss,
    scar_weight,
    spatial_weight,
    stage2_loss,
    suppressing_weight,
)
from lascar_ref.losses.dice_ce import EPS
from lascar_ref.stage_table import STAGES
from lascar_ref.training.fit import loss_weights

WALL = torch.tensor([1.0, 1, 1, 1, 0, 0, 0, 0]).view(1, 1, 8, 1, 1)
LABEL = torch.tensor([1.0, 1, 0, 0, 0, 1, 0, 0]).view(1, 1, 8, 1, 1)
FP, NOISE = 4, 5
ALPHAS = (0.0, 0.5, 1.0, 2.0, 4.0)


def gradient(loss_of) -> torch.Tensor:
    """d loss / d logit (8,) at logits 0."""
    logits = torch.zeros(1, 1, 8, 1, 1, requires_grad=True)
    loss_of(logits).backward()
    return logits.grad.flatten()


def ours(alpha, part="loss"):
    w = spatial_weight(WALL, alpha)
    return gradient(lambda z: dice_ce_loss(z, LABEL, 0.5, weight=w)[part])


def suppress(alpha, part="loss"):
    w = suppressing_weight(WALL, LABEL, alpha)
    return gradient(lambda z: dice_ce_loss(z, LABEL, 0.5, weight=w)[part])


def literal_dice(alpha):
    w = spatial_weight(WALL, alpha)

    def loss(z):
        p, y = w * torch.sigmoid(z), w * LABEL
        return 1 - (2 * (p * y).sum() + EPS) / (p.sum() + y.sum() + EPS)

    return gradient(loss)


def test_the_ce_term_by_hand_outside_weight_is_one_over_the_sum_of_w():
    for alpha in ALPHAS:
        g = ours(alpha, "ce")
        total = 8 + 4 * alpha  # sum of W: four band voxels at 1 + alpha, four outside at 1
        # d CE_w / d z_i = w_i (p_i - y_i) / sum(w); outside w_i = 1, p = 0.5
        assert float(g[FP]) == pytest.approx(0.5 / total, rel=1e-6)
        assert float(g[NOISE]) == pytest.approx(-0.5 / total, rel=1e-6)


def test_the_dice_term_by_hand():
    for alpha in ALPHAS:
        m = (8 + 4 * alpha) / 8  # mean of W: w = W / m
        w_out, w_in = 1 / m, (1 + alpha) / m
        inter = 0.5 * (2 * w_in + w_out)  # sum w p y: voxels 0, 1 and 5
        s = 0.5 * 8 + (2 * w_in + w_out)  # sum w p (= 0.5 * sum w = 4) + sum w y
        d_fp = -(2 * inter + EPS) * w_out / (s + EPS) ** 2  # d Dice / d p_4 (y = 0)
        d_noise = (2 * w_out * (s + EPS) - (2 * inter + EPS) * w_out) / (s + EPS) ** 2
        g = ours(alpha, "dice")  # d (1 - Dice) / d z = -d Dice / d p * p (1 - p)
        assert float(g[FP]) == pytest.approx(-d_fp * 0.25, rel=1e-5)
        assert float(g[NOISE]) == pytest.approx(-d_noise * 0.25, rel=1e-5)


def test_our_reading_learns_less_from_every_outside_voxel_as_alpha_grows():
    """The property of Eq. 7-8 as we read them: raising W in the band lowers the pull on *both*
    outside voxels: the false positive is pushed down less and the noisy label pulls less. The
    prior cannot penalise an outside prediction more than alpha = 0 does."""
    fp = [float(ours(a)[FP]) for a in ALPHAS]
    noise = [float(ours(a)[NOISE]) for a in ALPHAS]
    assert all(g > 0 for g in fp) and all(g < 0 for g in noise)  # signs never change
    assert all(a > b for a, b in zip(fp, fp[1:]))  # |g_fp| strictly decreases
    assert all(abs(a) > abs(b) for a, b in zip(noise, noise[1:]))  # |g_noise| too
    inside = [float(ours(a)[0]) for a in ALPHAS]  # labelled scar in the band: pulled up more
    assert all(abs(a) < abs(b) for a, b in zip(inside, inside[1:]))


def test_the_literal_dice_reading_pushes_an_outside_false_positive_down_more():
    """l_Dice(W . Y_hat, W . Y): the band's terms enter the numerator as W^2 and the denominator
    as W, so the Dice rises with alpha and an outside prediction costs more; the noisy outside
    label pulls less and less, and by alpha = 4 it pushes its voxel down: what the paper says."""
    fp = [float(literal_dice(a)[FP]) for a in ALPHAS]
    noise = [float(literal_dice(a)[NOISE]) for a in ALPHAS]
    assert all(g > 0 for g in fp) and all(a < b for a, b in zip(fp, fp[1:]))  # pushed down more
    assert noise[0] < 0 and all(a < b for a, b in zip(noise, noise[1:]))  # pulls up less
    assert noise[-1] > 0  # alpha = 4: the noisy label is no longer learned at all
    # at alpha = 0 the literal reading is Eq. 1's Dice term: the same gradient as ours' Dice
    assert torch.allclose(literal_dice(0.0), ours(0.0, "dice"), atol=1e-7)


def test_a_sum_reading_of_ce_keeps_the_outside_gradient():
    """For contrast: CE as sum(W bce) / N leaves the outside voxels' CE gradient at 0.5 / 8 for
    every alpha (the band gains weight, the outside loses none)."""
    for alpha in ALPHAS:
        w = spatial_weight(WALL, alpha)
        g = gradient(
            lambda z, w=w: (
                w * torch.nn.functional.binary_cross_entropy_with_logits(z, LABEL, reduction="none")
            ).mean()
        )
        assert float(g[FP]) == pytest.approx(0.5 / 8) and float(g[NOISE]) == pytest.approx(-0.5 / 8)


def test_the_suppressing_weight_by_hand():
    """W_s per voxel: 1 + alpha for labelled scar in the band (0, 1) and negatives outside
    (4, 6, 7), 1 for negatives in the band (2, 3), 1 / (1 + alpha) for labelled scar outside (5)."""
    for alpha in ALPHAS:
        a = 1 + alpha
        expected = torch.tensor([a, a, 1, 1, a, 1 / a, a, a]).view(1, 1, 8, 1, 1)
        assert torch.allclose(suppressing_weight(WALL, LABEL, alpha), expected, rtol=1e-6)
        assert torch.equal(scar_weight("paper", WALL, LABEL, alpha), spatial_weight(WALL, alpha))
    with pytest.raises(ValueError, match="wall_weighting must be one of"):
        scar_weight("literal", WALL, LABEL, 1.0)


def test_the_suppressing_ce_term_by_hand():
    """d CE_w / d z_i = w_i (p_i - y_i) / sum(w): the false positive's weight 1 + alpha grows
    faster than sum(w) = 5 (1 + alpha) + 2 + 1 / (1 + alpha)."""
    for alpha in ALPHAS:
        a = 1 + alpha
        total = 5 * a + 2 + 1 / a
        g = suppress(alpha, "ce")
        assert float(g[FP]) == pytest.approx(0.5 * a / total, rel=1e-6)
        assert float(g[NOISE]) == pytest.approx(-0.5 / a / total, rel=1e-6)


def test_at_alpha_zero_both_readings_are_eq1():
    """W_s = W = 1 at alpha = 0: the loss and its gradient are Eq. 1's, exactly."""
    plain = gradient(lambda z: dice_ce_loss(z, LABEL, 0.5)["loss"])
    assert torch.equal(suppressing_weight(WALL, LABEL, 0.0), torch.ones(1, 1, 8, 1, 1))
    assert torch.allclose(suppress(0.0), plain, atol=1e-8)
    assert torch.allclose(ours(0.0), plain, atol=1e-8)


def test_the_suppressing_reading_pushes_an_outside_false_positive_down_more():
    """The intended reversal (docs/design.md §3): under W_s the outside false positive is pushed
    down more as alpha grows (under W less), the noisy outside label pulls less (as under W, and
    faster), and labelled scar in the band is pulled up more."""
    fp = [float(suppress(a)[FP]) for a in ALPHAS]
    noise = [float(suppress(a)[NOISE]) for a in ALPHAS]
    inside = [float(suppress(a)[0]) for a in ALPHAS]
    assert all(g > 0 for g in fp) and all(a < b for a, b in zip(fp, fp[1:]))  # reversed
    assert all(g < 0 for g in noise) and all(abs(a) > abs(b) for a, b in zip(noise, noise[1:]))
    assert all(abs(a) < abs(b) for a, b in zip(inside, inside[1:]))
    for alpha in ALPHAS[1:]:  # against the paper's W at the same alpha
        assert float(suppress(alpha)[FP]) > float(ours(alpha)[FP])
        assert abs(float(suppress(alpha)[NOISE])) < abs(float(ours(alpha)[NOISE]))


def test_stage2_loss_and_the_training_loop_take_the_flag():
    """--wall-weighting reaches Eq. 8: stage2_loss with "suppress" is the W_s-weighted DiceCE;
    fit.loss_weights passes the config's choice to the Stage II loss only; checks refuse a name."""
    labels = torch.cat([WALL, LABEL, WALL], dim=1)  # (1, 3, 8, 1, 1): LA, scar, wall
    z = torch.linspace(-1, 1, 8).view(1, 1, 8, 1, 1)
    out = stage2_loss((z, z), labels, alpha_t=1.0, wall_weighting="suppress")
    w = suppressing_weight(WALL, LABEL, 1.0)
    assert float(out["scar"]) == pytest.approx(float(dice_ce_loss(z, LABEL, weight=w)["loss"]))
    paper = stage2_loss((z, z), labels, alpha_t=1.0)
    assert float(out["scar"]) != pytest.approx(float(paper["scar"]))
    cfg = make_config("demo", stage=2, wall_weighting="suppress")
    assert loss_weights(STAGES[2], cfg, 5)["wall_weighting"] == "suppress"
    assert "wall_weighting" not in loss_weights(STAGES[3], make_config("demo", stage=3), 5)
    assert make_config("demo", stage=2).wall_weighting == "paper"
    with pytest.raises(ValueError, match="--wall-weighting .literal.: must be one of"):
        make_config("demo", stage=2, wall_weighting="literal")
