"""Swin transformer block — paper §4.2 (SwinUNETR encoder [39, 40]).

Swin, Eq. (3):  z' = x + W-MSA(LN(x));  z = z' + MLP(LN(z'))   (SW-MSA in every second block)
MLP = Linear(C, 4C) -> GELU -> Linear(4C, C). No dropout, no drop-path (docs/design.md §1).

Parity (docs/design.md §1): tokens are padded to a multiple of the window *after* norm1; padded
tokens are not masked; the cyclic shift is torch.roll by -shift, undone by +shift.
Optional gradient checkpointing of each half (`use_checkpoint`).
Tests: tests/test_model_windows.py, tests/test_model_parity.py
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from .window_attention import WindowAttention
from .windows import clip_window, window_partition, window_reverse


class Mlp(nn.Module):
    """Linear(C, 4C) -> GELU -> Linear(4C, C)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SwinBlock(nn.Module):
    """Pre-norm Swin block: (shifted) window attention and MLP, each with a residual."""

    def __init__(
        self,
        dim: int,
        heads: int,
        window: tuple[int, int, int],
        shift: tuple[int, int, int],
        mlp_ratio: float = 4.0,
        attn_impl: str = "sdpa",
        use_checkpoint: bool = False,
    ) -> None:
        super().__init__()
        self.window, self.shift, self.use_checkpoint = window, shift, use_checkpoint
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window, qkv_bias=True, attn_impl=attn_impl)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def _attention(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """(B, X, Y, Z, C) -> (B, X, Y, Z, C): norm1, pad, shift, window attention, unshift,
        crop."""
        B, X, Y, Z, C = x.shape
        window, shift = clip_window((X, Y, Z), self.window, self.shift)
        x = self.norm1(x)
        pad = [(w - s % w) % w for s, w in zip((X, Y, Z), window)]
        x = F.pad(x, (0, 0, 0, pad[2], 0, pad[1], 0, pad[0]))  # (B, Xp, Yp, Zp, C)
        Xp, Yp, Zp = x.shape[1:4]
        shifted = any(s > 0 for s in shift)
        if shifted:
            x = torch.roll(x, shifts=tuple(-s for s in shift), dims=(1, 2, 3))
        windows = window_partition(x, window)  # (B * nW, N, C)
        windows = self.attn(windows, mask if shifted else None)
        x = window_reverse(windows, window, (B, Xp, Yp, Zp))  # (B, Xp, Yp, Zp, C)
        if shifted:
            x = torch.roll(x, shifts=shift, dims=(1, 2, 3))
        return x[:, :X, :Y, :Z, :]

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.norm2(x))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """x: (B, X, Y, Z, C) tokens; mask: (nW, N, N) for the padded grid, used if this block
        shifts."""
        if self.use_checkpoint and torch.is_grad_enabled():
            x = x + checkpoint(self._attention, x, mask, use_reentrant=False)
            return x + checkpoint(self._mlp, x, use_reentrant=False)
        x = x + self._attention(x, mask)
        return x + self._mlp(x)
