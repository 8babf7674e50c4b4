"""Patch embedding and patch merging of the Swin encoder — paper §4.2 ([39, 40]).

PatchEmbed: a 2x2x2 stride-2 convolution from the image to C = feature_size tokens (no norm,
MONAI's `patch_norm=False`). PatchMerging: concatenate the 8 tokens of every 2x2x2 block
(8C), LayerNorm(8C), Linear(8C -> 2C, no bias).

Parity (docs/design.md §1): MONAI >= 1.5 concatenates the sub-voxels at offsets
(0,0,0), (1,0,0), (0,1,0), (0,0,1), (1,1,0), (1,0,1), (0,1,1), (1,1,1) (`MERGE_ORDER`).
MONAI <= 1.4 used an order with duplicates (`LEGACY_MERGE_ORDER`: offsets (0,1,0) and
(0,0,1) twice, (1,1,0) and (0,1,1) missing); `legacy=True` reproduces it for old checkpoints.
Tests: tests/test_model_parity.py
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

MERGE_ORDER = (
    (0, 0, 0),
    (1, 0, 0),
    (0, 1, 0),
    (0, 0, 1),
    (1, 1, 0),
    (1, 0, 1),
    (0, 1, 1),
    (1, 1, 1),
)
LEGACY_MERGE_ORDER = (
    (0, 0, 0),
    (1, 0, 0),
    (0, 1, 0),
    (0, 0, 1),
    (1, 0, 1),
    (0, 1, 0),
    (0, 0, 1),
    (1, 1, 1),
)


class PatchEmbed(nn.Module):
    """Non-overlapping 2^3 patches -> dim channels (a strided 3-D convolution)."""

    def __init__(self, in_channels: int, dim: int, patch: int = 2) -> None:
        super().__init__()
        self.patch = patch
        self.proj = nn.Conv3d(in_channels, dim, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, X, Y, Z) -> (B, dim, X/p, Y/p, Z/p); sizes not divisible by p are
        zero-padded."""
        B, C, X, Y, Z = x.shape
        p = self.patch
        x = F.pad(x, (0, -Z % p, 0, -Y % p, 0, -X % p))
        return self.proj(x)


class PatchMerging(nn.Module):
    """2^3 neighbouring tokens -> one: concatenate 8C, LayerNorm, Linear 8C -> 2C."""

    def __init__(self, dim: int, legacy: bool = False) -> None:
        super().__init__()
        self.order = LEGACY_MERGE_ORDER if legacy else MERGE_ORDER
        self.norm = nn.LayerNorm(8 * dim)
        self.reduction = nn.Linear(8 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, X, Y, Z, C) -> (B, ceil(X/2), ceil(Y/2), ceil(Z/2), 2C); odd sizes are
        zero-padded."""
        B, X, Y, Z, C = x.shape
        x = F.pad(x, (0, 0, 0, Z % 2, 0, Y % 2, 0, X % 2))
        # 8 x (B, X/2, Y/2, Z/2, C) -> (B, X/2, Y/2, Z/2, 8C)
        x = torch.cat([x[:, i::2, j::2, k::2, :] for i, j, k in self.order], dim=-1)
        return self.reduction(self.norm(x))
