"""Decoder D of Eq. (4) — paper §3.2, "Y_hat = D(Z; theta)": five up-blocks and a 1x1 head.

D = MONAI's `decoder5..decoder1` and `out` (docs/design.md §1); one logit channel (sigmoid task).
  d3 = Up(bottom, skip4)   (B, 8F, X/16, ...)
  d2 = Up(d3, skip3)       (B, 4F, X/8, ...)
  d1 = Up(d2, skip2)       (B, 2F, X/4, ...)
  d0 = Up(d1, skip1)       (B, F,  X/2, ...)
  u  = Up(d0, skip0)       (B, F,  X,   ...)
  logit = head(u)          (B, 1,  X, Y, Z)
Tests: tests/test_model_parity.py
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .conv_blocks import UpBlock


class Decoder(nn.Module):
    """D of Eq. 4: five up-blocks from the bottleneck to full size, then a 1x1 logit head."""

    def __init__(self, feature_size: int = 48, out_channels: int = 1) -> None:
        super().__init__()
        f = feature_size
        self.up4, self.up3 = UpBlock(16 * f, 8 * f), UpBlock(8 * f, 4 * f)
        self.up2, self.up1 = UpBlock(4 * f, 2 * f), UpBlock(2 * f, f)
        self.up0 = UpBlock(f, f)
        self.head = nn.Conv3d(f, out_channels, kernel_size=1, bias=True)

    def forward(self, z: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Z = (skip0, skip1, skip2, skip3, skip4, bottom) -> logits (B, 1, X, Y, Z)."""
        skip0, skip1, skip2, skip3, skip4, bottom = z
        d = self.up4(bottom, skip4)
        d = self.up3(d, skip3)
        d = self.up2(d, skip2)
        d = self.up1(d, skip1)
        return self.head(self.up0(d, skip0))
