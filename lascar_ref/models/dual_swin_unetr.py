"""Dual-decoder model of Stage II — paper §3.2, Eq. (4):

  Z           = E(X'; theta_I)
  Y_hat_LA    = D_LA(Z; theta_I)
  Y_hat_scar  = D_scar(Z; theta_0)

Both decoders read the same encoder representation Z. 81,784,532 parameters at F = 48
(docs/design.md §1). Weight transfer from / to the single-decoder model: transfer.py.
Tests: tests/test_model_counts.py, tests/test_model_transfer.py
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .decoder import Decoder
from .encoder import Encoder
from .swin_unetr import check_spatial_size


class DualSwinUNETR(nn.Module):
    """Stage II model (Eq. 4): one encoder E, two decoders D_LA and D_scar."""

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
        self.decoder_la = Decoder(feature_size)
        self.decoder_scar = Decoder(feature_size)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, X, Y, Z) -> (LA logits, scar logits), each (B, 1, X, Y, Z)."""
        check_spatial_size(x.shape)
        z = self.encoder(x)
        return self.decoder_la(z), self.decoder_scar(z)
