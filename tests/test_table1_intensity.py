"""Table 1 intensity operations against their formulas (lascar_ref/augment/bias_field.py,
intensity.py, gaussian.py)."""

import math

import pytest
import torch

from lascar_ref.augment.bias_field import TERMS, apply_bias
from lascar_ref.augment.intensity import apply_blur, apply_contrast, apply_noise, apply_shift


def test_bias_field_is_exp_of_legendre_sum():
    assert len(TERMS) == 20
    coeffs = torch.linspace(0.02, 0.06, 20)[None]
    out = apply_bias(torch.ones(1, 1, 5, 5, 5), coeffs)
    c = {t: coeffs[0, n].item() for n, t in enumerate(TERMS)}
    # corner (u, v, w) = (1, 1, 1): P_n(1) = 1 for every n
    assert out[0, 0, -1, -1, -1].item() == pytest.approx(math.exp(sum(c.values())), rel=1e-5)
    # corner (-1, -1, -1): P_n(-1) = (-1)^n
    assert out[0, 0, 0, 0, 0].item() == pytest.approx(
        math.exp(sum(v * (-1) ** (i + j + k) for (i, j, k), v in c.items())), rel=1e-5
    )
    # centre (0, 0, 0): P_0 = 1, P_1 = 0, P_2 = -1/2, P_3 = 0
    p0 = {0: 1.0, 1: 0.0, 2: -0.5, 3: 0.0}
    assert out[0, 0, 2, 2, 2].item() == pytest.approx(
        math.exp(sum(v * p0[i] * p0[j] * p0[k] for (i, j, k), v in c.items())), rel=1e-5
    )
    # (u, v, w) = (0.5, -1, 0) at index (3, 0, 2):
    # P_1(0.5) = 0.5, P_2(0.5) = -0.125, P_3(0.5) = -0.4375
    ph = {0: 1.0, 1: 0.5, 2: -0.125, 3: -0.4375}
    pm = {n: (-1.0) ** n for n in range(4)}
    assert out[0, 0, 3, 0, 2].item() == pytest.approx(
        math.exp(sum(v * ph[i] * pm[j] * p0[k] for (i, j, k), v in c.items())), rel=1e-5
    )


def test_blur_keeps_a_constant_image_constant_including_borders():
    x = torch.full((2, 1, 20, 16, 8), 3.25)
    out = apply_blur(x, torch.tensor([[1.5, 0.5, 1.2], [0.7, 1.5, 1.5]]))
    assert torch.allclose(out, x, atol=1e-5)


def test_blur_sigma_is_per_axis_in_voxels():
    x = torch.zeros(1, 1, 41, 41, 41)
    x[0, 0, 20, 20, 20] = 1.0
    sigma = torch.tensor([[1.5, 0.5, 1.0]])
    out = apply_blur(x, sigma)[0, 0]
    t = torch.arange(41.0) - 20
    for axis, s in enumerate(sigma[0].tolist()):
        marginal = out.sum(dim=tuple(a for a in range(3) if a != axis))
        # variance of the sampled kernel exp(-t^2 / 2 s^2),
        # |t| <= round(4 s), normalised (~ s^2 for s >= 1)
        r = math.floor(4 * s + 0.5)
        k = [math.exp(-0.5 * (i / s) ** 2) for i in range(-r, r + 1)]
        var = sum(ki * i**2 for ki, i in zip(k, range(-r, r + 1))) / sum(k)
        assert (marginal * t**2).sum().item() == pytest.approx(var, rel=1e-4)
        assert var == pytest.approx(s**2, rel=0.15)
    assert out.sum().item() == pytest.approx(1.0, abs=1e-5)


def test_contrast_formula():
    x = torch.tensor([0.0, 1.0, 2.0, 4.0]).view(1, 1, 4, 1, 1) - 1.0  # min -1, range 4
    out = apply_contrast(x, torch.tensor([2.0])).flatten().tolist()
    expected = [((v + 1) / 4) ** 2 * 4 - 1 for v in (-1.0, 0.0, 1.0, 3.0)]  # [-1, -0.75, 0, 3]
    assert out == pytest.approx(expected, abs=1e-5)


def test_shift_and_noise_std():
    x = torch.zeros(2, 1, 64, 64, 16)
    assert torch.equal(
        apply_shift(x, torch.tensor([0.05, -0.1]))[1], torch.full((1, 64, 64, 16), -0.1)
    )
    out = apply_noise(x, torch.tensor([0.02, 0.005]), torch.tensor([1, 2]))
    assert out[0].std().item() == pytest.approx(0.02, rel=0.02)
    assert out[1].std().item() == pytest.approx(0.005, rel=0.02)
    assert abs(out[0].mean().item()) < 1e-3
