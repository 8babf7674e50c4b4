"""Window multi-head self-attention with 3-D relative position bias — paper §4.2 ([39, 40]).

Swin, Eq. (4):  Attention(Q, K, V) = SoftMax(Q K^T / sqrt(d) + B + M) V
B: learned bias indexed by the relative (dx, dy, dz) of two tokens of a window, from a table
of (2wx-1)(2wy-1)(2wz-1) x heads entries; M: the shifted-window mask (windows.py).

Two numerically equivalent paths (docs/design.md §1), chosen by `attn_impl`:
- "sdpa": torch.nn.functional.scaled_dot_product_attention with B + M folded into attn_mask,
  used in training and inference (MONAI only uses it without gradients);
- "explicit": the softmax written out, as in MONAI. Tests assert the two agree to 1e-5.

Parity: the index is built for the full configured window and sliced [:N, :N] when the window
is clipped to a smaller grid (MONAI does not recompute it). Tests: tests/test_model_windows.py
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def relative_position_index(window: tuple[int, int, int]) -> torch.Tensor:
    """(N, N) long index into the bias table for a window of N = wx * wy * wz tokens."""
    wx, wy, wz = window
    coords = torch.stack(
        torch.meshgrid(torch.arange(wx), torch.arange(wy), torch.arange(wz), indexing="ij")
    ).flatten(1)  # (3, N)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # (N, N, 3), in [-(w-1), w-1]
    rel = rel + torch.tensor([wx - 1, wy - 1, wz - 1])  # shift to [0, 2w - 2]
    return rel[..., 0] * (2 * wy - 1) * (2 * wz - 1) + rel[..., 1] * (2 * wz - 1) + rel[..., 2]


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows with a learned 3-D relative position bias."""

    def __init__(
        self,
        dim: int,
        heads: int,
        window: tuple[int, int, int],
        qkv_bias: bool = True,
        attn_impl: str = "sdpa",
    ) -> None:
        super().__init__()
        if attn_impl not in ("sdpa", "explicit"):
            raise ValueError(f"attn_impl must be 'sdpa' or 'explicit', got {attn_impl!r}")
        self.heads, self.attn_impl = heads, attn_impl
        self.scale = (dim // heads) ** -0.5
        wx, wy, wz = window
        self.rel_bias_table = nn.Parameter(
            torch.zeros((2 * wx - 1) * (2 * wy - 1) * (2 * wz - 1), heads)
        )
        nn.init.trunc_normal_(self.rel_bias_table, std=0.02)
        self.register_buffer("rel_index", relative_position_index(window), persistent=False)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def position_bias(self, n: int) -> torch.Tensor:
        """(heads, N, N) bias B for windows of N tokens (Parity: sliced index)."""
        idx = self.rel_index[:n, :n].reshape(-1)  # (N * N,)
        # F.embedding, not table[idx]: the same gather, but its CPU backward is deterministic
        # (indexing's backward is an atomic index_put_ whose sums depend on thread timing;
        # docs/design.md §2, determinism). (N * N, heads) -> (N, N, heads) -> (heads, N, N)
        return F.embedding(idx, self.rel_bias_table).view(n, n, self.heads).permute(2, 0, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """x: (B * nW, N, C) window tokens; mask: (nW, N, N) or None -> (B * nW, N, C)."""
        Bw, N, C = x.shape
        # (Bw, N, 3C) -> (Bw, N, 3, heads, C/heads) -> (3, Bw, heads, N, C/heads)
        qkv = self.qkv(x).view(Bw, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        bias = self.position_bias(N)  # (heads, N, N)
        if mask is not None:
            bias = bias[None] + mask[:, None]  # (nW, heads, N, N)
        if self.attn_impl == "sdpa":
            # 4-D inputs keep the fused CUDA kernels available; the mask is repeated only for B > 1
            if mask is not None and Bw != mask.shape[0]:
                bias = bias.repeat(Bw // mask.shape[0], 1, 1, 1)  # (Bw, heads, N, N)
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=bias.to(q.dtype), scale=self.scale
            )
        else:
            if (
                mask is not None
            ):  # broadcast over the batch through a (B, nW, ...) view, never expanded
                q, k, v = (
                    t.view(Bw // mask.shape[0], mask.shape[0], self.heads, N, -1) for t in (q, k, v)
                )
            attn = (q * self.scale) @ k.transpose(-2, -1) + bias  # (..., heads, N, N)
            out = attn.softmax(dim=-1).to(v.dtype) @ v
        out = out.reshape(Bw, self.heads, N, C // self.heads)
        # (Bw, heads, N, C/heads) -> (Bw, N, heads, C/heads) -> (Bw, N, C)
        return self.proj(out.transpose(1, 2).reshape(Bw, N, C))
