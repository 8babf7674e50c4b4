"""SwinUNETR (Hatamizadeh et al. 2021) = encoder E + one decoder D — paper §4.2, Eq. (3), (9).

Y_hat = F(X'; theta) = D(E(X')), one logit channel. Used by Stage I (D = D_LA) and Stage III
(D = D_scar). Configuration and exact MONAI 1.6.1 parity: docs/design.md §1 (feature size 48,
depths 2,2,2,2, heads 3,6,12,24, window 7, patch 2). 62,186,659 parameters at F = 48.

Deviation (docs/design.md §0): every spatial size must be a multiple of 32; the paper's patch
228x192x32 is refused with a ValueError naming the nearest valid sizes (224 or 256).
Tests: tests/test_model_parity.py, tests/test_model_counts.py
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .decoder import Decoder
from .encoder import Encoder

DIVISOR = 32  # patch 2 and four PatchMerging stages: 2^5


def check_spatial_size(shape: tuple[int, ...]) -> None:
    """Raise ValueError unless every spatial size of (B, C, X, Y, Z) is a multiple of 32."""
    if len(shape) != 5:
        raise ValueError(f"SwinUNETR expects a 5-D input (B, C, X, Y, Z), got shape {tuple(shape)}")
    bad = [(axis, s) for axis, s in zip("XYZ", shape[2:]) if s % DIVISOR or s == 0]
    if bad:
        hints = ", ".join(
            f"{axis}={s} (nearest valid: {max(DIVISOR, s // DIVISOR * DIVISOR)} or "
            f"{(s // DIVISOR + 1) * DIVISOR})"
            for axis, s in bad
        )
        raise ValueError(
            f"SwinUNETR needs spatial sizes divisible by {DIVISOR}; input spatial size "
            f"{tuple(shape[2:])} has {hints}. See docs/design.md §0."
        )
    if all(s == DIVISOR for s in shape[2:]):
        raise ValueError(
            f"SwinUNETR input {tuple(shape[2:])}: at least one spatial size must be "
            f">= {2 * DIVISOR} "
            f"(a 1x1x1 bottleneck cannot be instance-normalised)"
        )


class SwinUNETR(nn.Module):
    """E + one decoder (Stages I and III), one logit channel; MONAI-parity weights."""

    def __init__(
        self,
        in_channels: int = 1,
        feature_size: int = 48,
        attn_impl: str = "sdpa",
        use_checkpoint: bool = False,
        legacy_merge_order: bool = False,
    ) -> None:
        super().__init__()
        self.feature_size = feature_size
        self.encoder = Encoder(
            in_channels, feature_size, attn_impl, use_checkpoint, legacy_merge_order
        )
        self.decoder = Decoder(feature_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, X, Y, Z) -> logits (B, 1, X, Y, Z)."""
        check_spatial_size(x.shape)
        return self.decoder(self.encoder(x))
