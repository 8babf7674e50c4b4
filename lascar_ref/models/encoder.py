"""Encoder E of Eq. (4) — paper §3.2, "Z = E(X'; theta)".

E = the Swin transformer + the residual skip blocks (docs/design.md §1, MONAI's `swinViT`,
`encoder1-4`, `encoder10`). Z is the tuple of six feature maps the decoders read:

  skip0  = ResBlock(x)          (B, F,   X,    Y,    Z)     MONAI encoder1
  skip1  = ResBlock(hidden_0)   (B, F,   X/2,  Y/2,  Z/2)   MONAI encoder2
  skip2  = ResBlock(hidden_1)   (B, 2F,  X/4,  ...)         MONAI encoder3
  skip3  = ResBlock(hidden_2)   (B, 4F,  X/8,  ...)         MONAI encoder4
  skip4  = hidden_3             (B, 8F,  X/16, ...)         (no block, as in MONAI)
  bottom = ResBlock(hidden_4)   (B, 16F, X/32, ...)         MONAI encoder10
Tests: tests/test_model_parity.py
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .conv_blocks import ResBlock
from .swin_transformer import SwinTransformer


class Encoder(nn.Module):
    """E of Eq. 4: Swin transformer plus residual skip blocks -> five skips and a bottleneck."""

    def __init__(
        self,
        in_channels: int = 1,
        feature_size: int = 48,
        attn_impl: str = "sdpa",
        use_checkpoint: bool = False,
        legacy_merge_order: bool = False,
    ) -> None:
        super().__init__()
        if feature_size % 12:
            raise ValueError(
                f"feature_size must be a multiple of 12 (heads 3, 6, 12, 24), got {feature_size}"
            )
        f = feature_size
        self.swin = SwinTransformer(
            in_channels,
            f,
            attn_impl=attn_impl,
            use_checkpoint=use_checkpoint,
            legacy_merge_order=legacy_merge_order,
        )
        self.skip0 = ResBlock(in_channels, f)
        self.skip1 = ResBlock(f, f)
        self.skip2 = ResBlock(2 * f, 2 * f)
        self.skip3 = ResBlock(4 * f, 4 * f)
        self.bottom = ResBlock(16 * f, 16 * f)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(B, C_in, X, Y, Z) -> Z = (skip0, skip1, skip2, skip3, skip4, bottom), shapes above."""
        hidden = self.swin(x)
        return (
            self.skip0(x),
            self.skip1(hidden[0]),
            self.skip2(hidden[1]),
            self.skip3(hidden[2]),
            hidden[3],
            self.bottom(hidden[4]),
        )
