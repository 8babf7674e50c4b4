"""Separable Gaussian smoothing with per-sample, per-axis sigma — used by T_blur and T_elastic
(paper Table 1; docs/design.md §4).

  y = G_sigma_x * G_sigma_y * G_sigma_z * x,  G normalised, truncated at 4 sigma (radius
  round(4 sigma)), replicate padding (Deviation: MONAI pads with zeros and darkens the edges).
Tests: tests/test_table1_intensity.py
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

TRUNCATE = 4.0


def gaussian_kernels(sigma_vox: torch.Tensor, radius: int) -> torch.Tensor:
    """sigma (B,) -> (B, 2 radius + 1) normalised kernels, zero beyond each round(4 sigma)."""
    t = torch.arange(-radius, radius + 1, dtype=torch.float32, device=sigma_vox.device)
    s = sigma_vox.float().clamp_min(1e-6)[:, None]
    k = torch.exp(-0.5 * (t[None] / s) ** 2)
    k = torch.where(t[None].abs() <= torch.floor(TRUNCATE * s + 0.5), k, torch.zeros_like(k))
    return k / k.sum(dim=1, keepdim=True)


def gaussian_smooth(x: torch.Tensor, sigma_vox: torch.Tensor) -> torch.Tensor:
    """x (B, C, X, Y, Z), sigma_vox (B, 3) per-axis sigmas in voxels -> smoothed (B, C, X, Y, Z).

    Each 1-D pass is a sum of 2 radius + 1 shifted copies of the replicate-padded input weighted
    by per-sample taps (memory-bound and much faster on CPU than a grouped conv3d).
    """
    B = x.shape[0]
    y = x
    for axis in range(3):
        radius = int(torch.floor(TRUNCATE * sigma_vox[:, axis].max() + 0.5))
        if radius == 0:
            continue
        taps = gaussian_kernels(sigma_vox[:, axis].to(x.device), radius).to(x.dtype)  # (B, L)
        pad = [0, 0, 0, 0, 0, 0]
        pad[2 * (2 - axis)] = pad[2 * (2 - axis) + 1] = radius  # F.pad lists the last axis first
        padded = F.pad(y, pad, mode="replicate")
        n = y.shape[2 + axis]
        out = torch.zeros_like(y)
        for t in range(2 * radius + 1):  # one fused multiply-add pass per tap, no temporaries
            out.addcmul_(padded.narrow(2 + axis, t, n), taps[:, t].view(B, 1, 1, 1, 1))
        y = out
    return y
