"""T_blur, T_contrast, T_shift, T_noise — paper Table 1; docs/design.md §4.

  blur:     x' = G_sigma * x, sigma per axis ~ U(0.5, 1.5) voxels (gaussian.py)        P = 0.20
  contrast: x' = ((x - m) / (M - m + 1e-7))^gamma (M - m) + m, gamma ~ U(0.8, 1.3),     P = 0.30
            m, M the patch min and max (MONAI AdjustContrast). On z-scored data this moves
            the mean as well as the spread.
  shift:    x' = x + o, o ~ U(-0.1, 0.1)                                                P = 0.50
  noise:    x' = x + n, n ~ N(0, s^2) voxel-wise, s ~ U(0, 0.02) per sample             P = 0.20
Each op: sample_<op>(batch_size, generator) -> params; apply_<op>(x, ...) pure on (B, 1, X, Y, Z).
Tests: tests/test_table1_intensity.py
"""

from __future__ import annotations

import torch

from .gaussian import gaussian_smooth
from .sampling import device_normal, draw_seeds, table_uniform

CONTRAST_EPS = 1e-7  # Parity: MONAI AdjustContrast epsilon


def sample_blur(batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {
        "sigma_vox": table_uniform("blur", "sigma_vox", 3 * batch_size, generator).view(
            batch_size, 3
        )
    }


def apply_blur(x: torch.Tensor, sigma_vox: torch.Tensor) -> torch.Tensor:
    return gaussian_smooth(x, sigma_vox.to(x.device))


def sample_contrast(batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {"gamma": table_uniform("contrast", "gamma", batch_size, generator)}


def apply_contrast(x: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    B = x.shape[0]
    m = x.reshape(B, -1).amin(1).view(B, 1, 1, 1, 1)
    r = x.reshape(B, -1).amax(1).view(B, 1, 1, 1, 1) - m
    g = gamma.to(x.device, x.dtype).view(B, 1, 1, 1, 1)
    return ((x - m) / (r + CONTRAST_EPS)) ** g * r + m


def sample_shift(batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {"offset": table_uniform("shift", "offset", batch_size, generator)}


def apply_shift(x: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    return x + offset.to(x.device, x.dtype).view(-1, 1, 1, 1, 1)


def sample_noise(batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {
        "std": table_uniform("noise", "std", batch_size, generator),
        "seed": draw_seeds(batch_size, generator),
    }


def apply_noise(x: torch.Tensor, std: torch.Tensor, seed: torch.Tensor) -> torch.Tensor:
    noise = torch.cat([device_normal((1,) + tuple(x.shape[1:]), int(s), x.device) for s in seed])
    return x + std.to(x.device, x.dtype).view(-1, 1, 1, 1, 1) * noise
