"""Eq. 6 LA wall mask (lascar_ref/losses/wall_mask.py): hand-derived line profiles, a sphere,
exact equality with scipy EDT thresholds (ties included), empty / full masks, torch input."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from lascar_ref.losses import wall_mask


def line(n, start, stop):
    la = np.zeros(n, dtype=bool)
    la[start:stop] = True
    return la


def test_line_profile_1mm():
    la = line(30, 10, 20)  # cavity voxels 10..19
    band = wall_mask(la, (1.0,))
    # inside: distance to nearest background (9 or 20) <= 3 mm -> 10, 11, 12 and 17, 18, 19
    # outside: distance to nearest cavity voxel <= 2.5 mm -> 8, 9 and 20, 21
    assert np.flatnonzero(band).tolist() == [8, 9, 10, 11, 12, 17, 18, 19, 20, 21]


def test_line_profile_anisotropic_ties():
    la = line(40, 10, 30)
    band = wall_mask(la, (0.625,))
    # inside: k * 0.625 <= 3.0 -> k <= 4.8 -> 4 voxels each side of the cavity
    # outside: k * 0.625 <= 2.5 -> k <= 4 (k = 4 is a tie at exactly 2.5 mm, included)
    assert np.flatnonzero(band).tolist() == list(range(6, 10)) + list(range(10, 14)) + list(
        range(26, 30)
    ) + list(range(30, 34))
    la = line(12, 4, 8)
    band = wall_mask(
        la, (2.5,)
    )  # slice axis: 1 slice inside (2.5 <= 3), 1 outside (2.5 <= 2.5, tie)
    assert np.flatnonzero(band).tolist() == [3, 4, 7, 8]


def test_sphere_band_thickness_mm():
    s = 0.5
    n, r_mm = 80, 12.0
    c = (n - 1) / 2
    x = (np.arange(n) - c) * s
    r = np.sqrt(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2)
    la = r <= r_mm
    band = wall_mask(la, (s, s, s))
    inner = band & la
    outer = band & ~la
    # radial extent of the band along the +X axis through the centre
    ray = np.arange(n) > c
    mid = n // 2
    assert inner[ray, mid, mid].sum() * s == pytest.approx(3.0, abs=s)
    assert outer[ray, mid, mid].sum() * s == pytest.approx(2.5, abs=s)
    # all band voxels lie within [R - 3, R + 2.5] mm up to a voxel diagonal
    assert r[band].min() >= r_mm - 3.0 - s * np.sqrt(3) and r[
        band
    ].max() <= r_mm + 2.5 + s * np.sqrt(3)
    # band volume ~ shell volume 4/3 pi ((R+2.5)^3 - (R-3)^3)
    shell = 4 / 3 * np.pi * ((r_mm + 2.5) ** 3 - (r_mm - 3.0) ** 3)
    assert band.sum() * s**3 == pytest.approx(shell, rel=0.1)


def test_equals_scipy_thresholds_with_ties():
    rng = np.random.default_rng(0)
    spacing = (0.625, 0.625, 2.5)
    noise = ndimage.gaussian_filter(rng.standard_normal((64, 56, 12)), (4, 4, 1))
    la = noise > 0.02
    d_in = ndimage.distance_transform_edt(la, sampling=spacing)
    d_out = ndimage.distance_transform_edt(~la, sampling=spacing)
    expected = (d_in <= 3.0) & (d_out <= 2.5)
    assert (d_out == 2.5).sum() > 100  # ties at exactly 2.5 mm are present and must be kept
    assert np.array_equal(wall_mask(la, spacing), expected)


def test_empty_and_full_masks_give_empty_band():
    assert not wall_mask(np.zeros((8, 8, 4)), (1, 1, 2.5)).any()
    assert not wall_mask(np.ones((8, 8, 4)), (1, 1, 2.5)).any()


def test_torch_batched_input_and_bad_spacing():
    la = np.zeros((2, 1, 16, 16, 8), dtype=bool)
    la[0, 0, 4:12, 4:12, 2:6] = True
    out = wall_mask(torch.from_numpy(la).float(), (1.0, 1.0, 2.5))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.bool and out.shape == la.shape
    assert torch.equal(out[0, 0], torch.from_numpy(wall_mask(la[0, 0], (1.0, 1.0, 2.5))))
    assert not out[1].any() and out[0].any()
    with pytest.raises(ValueError, match="spacing must be positive"):
        wall_mask(la[0, 0], (1.0, 0.0, 2.5))
