"""CNN blocks of the SwinUNETR skips and decoders — paper §4.2 ("CNN-based decoder ... connected
to the encoder via skip connections at different resolutions", [39]).

ResBlock:  y = LReLU(IN(conv3(LReLU(IN(conv3(x))))) + r),
           r = IN(conv1x1(x)) if C_in != C_out else x
UpBlock:   y = ResBlock(cat(ConvT2x2x2(x), skip))
OutHead:   1x1x1 conv with bias -> one logit channel.
Parity (docs/design.md §1): InstanceNorm3d without affine or running stats, convolutions and
transposed convolutions without bias, LeakyReLU slope 0.01. Tests: tests/test_model_parity.py
"""

from __future__ import annotations

import torch
import torch.nn as nn


def conv3(c_in: int, c_out: int) -> nn.Conv3d:
    return nn.Conv3d(c_in, c_out, kernel_size=3, padding=1, bias=False)


class ResBlock(nn.Module):
    """Residual block: two 3^3 conv + InstanceNorm (+ LeakyReLU), 1x1 projection when C changes."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1, self.norm1 = conv3(c_in, c_out), nn.InstanceNorm3d(c_out)
        self.conv2, self.norm2 = conv3(c_out, c_out), nn.InstanceNorm3d(c_out)
        self.act = nn.LeakyReLU(
            0.01, inplace=True
        )  # in place, as MONAI: one activation buffer less
        self.project = None
        if c_in != c_out:
            self.project = nn.Sequential(
                nn.Conv3d(c_in, c_out, kernel_size=1, bias=False), nn.InstanceNorm3d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, X, Y, Z) -> (B, C_out, X, Y, Z)."""
        out = self.act(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        residual = x if self.project is None else self.project(x)
        return self.act(out + residual)


class UpBlock(nn.Module):
    """Decoder block: 2^3 transposed conv (x2), concatenate the skip, residual block."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose3d(c_in, c_out, kernel_size=2, stride=2, bias=False)
        self.res = ResBlock(2 * c_out, c_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """x: (B, C_in, X, Y, Z), skip: (B, C_out, 2X, 2Y, 2Z) -> (B, C_out, 2X, 2Y, 2Z)."""
        return self.res(torch.cat([self.up(x), skip], dim=1))
