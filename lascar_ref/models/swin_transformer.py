"""The 4-stage Swin transformer of SwinUNETR — paper §4.2 ([39, 40]).

hidden_0 = PatchEmbed(x);  hidden_s = PatchMerging(SwinBlocks_s(hidden_{s-1}))  for s = 1..4.
Returned hidden states are LN(hidden_s) over channels with no parameters (MONAI
`normalize=True`); the next stage receives the un-normalised tensor (docs/design.md §1).
Every stage, the 4th included, ends in PatchMerging. Blocks alternate shift 0 / window // 2.

Shapes for input (B, 1, X, Y, Z), feature size F: hidden_s is (B, F * 2^s, X / 2^(s+1), ...).
Tests: tests/test_model_parity.py
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .patch_ops import PatchEmbed, PatchMerging
from .swin_block import SwinBlock
from .windows import cached_window_mask, clip_window


class SwinStage(nn.Module):
    """`depth` Swin blocks followed by PatchMerging."""

    def __init__(
        self,
        dim: int,
        depth: int,
        heads: int,
        window: tuple[int, int, int],
        attn_impl: str,
        use_checkpoint: bool,
        legacy_merge_order: bool,
    ) -> None:
        super().__init__()
        self.window = window
        self.shift = tuple(w // 2 for w in window)
        self.blocks = nn.ModuleList(
            SwinBlock(
                dim,
                heads,
                window,
                (0, 0, 0) if i % 2 == 0 else self.shift,
                attn_impl=attn_impl,
                use_checkpoint=use_checkpoint,
            )
            for i in range(depth)
        )
        self.merge = PatchMerging(dim, legacy=legacy_merge_order)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, X, Y, Z) -> (B, 2C, X/2, Y/2, Z/2)."""
        B, C, X, Y, Z = x.shape
        window, shift = clip_window((X, Y, Z), self.window, self.shift)
        padded = tuple(-(-s // w) * w for s, w in zip((X, Y, Z), window))
        mask = cached_window_mask(padded, window, shift, x.device) if any(shift) else None
        x = x.permute(0, 2, 3, 4, 1)  # (B, C, X, Y, Z) -> (B, X, Y, Z, C)
        for block in self.blocks:
            x = block(x, mask)
        x = self.merge(x)  # (B, X/2, Y/2, Z/2, 2C)
        return x.permute(0, 4, 1, 2, 3).contiguous()  # -> (B, 2C, X/2, Y/2, Z/2)


def channel_layer_norm(x: torch.Tensor) -> torch.Tensor:
    """Parameter-free LayerNorm over C of (B, C, X, Y, Z)."""
    C = x.shape[1]
    return F.layer_norm(x.permute(0, 2, 3, 4, 1), (C,)).permute(0, 4, 1, 2, 3)


class SwinTransformer(nn.Module):
    """Patch embedding and four Swin stages -> five normalised hidden states."""

    def __init__(
        self,
        in_channels: int = 1,
        feature_size: int = 48,
        depths=(2, 2, 2, 2),
        heads=(3, 6, 12, 24),
        window: tuple[int, int, int] = (7, 7, 7),
        attn_impl: str = "sdpa",
        use_checkpoint: bool = False,
        legacy_merge_order: bool = False,
    ) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed(in_channels, feature_size, patch=2)
        self.stages = nn.ModuleList(
            SwinStage(
                feature_size * 2**s,
                depths[s],
                heads[s],
                tuple(window),
                attn_impl,
                use_checkpoint,
                legacy_merge_order,
            )
            for s in range(len(depths))
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, C_in, X, Y, Z) -> five normalised hidden states, hidden_s:
        (B, F 2^s, X/2^(s+1), ...)."""
        h = self.patch_embed(x)
        hidden = [channel_layer_norm(h)]
        for stage in self.stages:
            h = stage(h)
            hidden.append(channel_layer_norm(h))
        return hidden
