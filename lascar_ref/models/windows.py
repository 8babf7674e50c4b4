"""Shifted-window bookkeeping of the Swin encoder — paper §4.2 (SwinUNETR backbone [39, 40]).

Liu et al. 2021, Eq. (2) of the Swin paper: attention is computed inside non-overlapping
windows of `window` tokens; every second block cyclically shifts the token grid by
`window // 2` and masks attention between tokens that came from different regions.

Parity (docs/design.md §1, MONAI 1.6.1):
- a window larger than or equal to the grid along an axis is clipped to the grid and its
  shift along that axis is 0 (`clip_window`);
- the mask uses -100 (not -inf) between tokens of different regions (`shifted_window_mask`).

The mask depends only on the grid, window, shift and device, so `cached_window_mask` builds it once
per combination (every step of a run sees the same few grids) and hands out the same tensor: a
constant that no operation writes to (built outside inference mode, so that a mask first made in
validation can also serve a training step).

Tokens are channels-last inside the encoder: (B, X, Y, Z, C).
Tests: tests/test_model_windows.py
"""

from __future__ import annotations

import functools

import torch

MASK_VALUE = -100.0  # Parity: MONAI / original Swin use -100, not -inf.


def clip_window(
    grid: tuple[int, ...], window: tuple[int, ...], shift: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Window and shift actually used on a token grid of size `grid`.

    Along an axis where grid <= window, the window is the whole axis and the shift is 0.
    """
    win = tuple(g if g <= w else w for g, w in zip(grid, window))
    shf = tuple(0 if g <= w else s for g, w, s in zip(grid, window, shift))
    return win, shf


def window_partition(x: torch.Tensor, window: tuple[int, int, int]) -> torch.Tensor:
    """(B, X, Y, Z, C) with X, Y, Z multiples of `window` -> (B * nW, wx * wy * wz, C)."""
    B, X, Y, Z, C = x.shape
    wx, wy, wz = window
    # (B, X, Y, Z, C) -> (B, X/wx, wx, Y/wy, wy, Z/wz, wz, C)
    x = x.view(B, X // wx, wx, Y // wy, wy, Z // wz, wz, C)
    # -> (B, X/wx, Y/wy, Z/wz, wx, wy, wz, C) -> (B * nW, wx * wy * wz, C)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, wx * wy * wz, C)


def window_reverse(
    windows: torch.Tensor, window: tuple[int, int, int], grid: tuple[int, int, int, int]
) -> torch.Tensor:
    """Inverse of `window_partition`: (B * nW, wx * wy * wz, C) -> (B, X, Y, Z, C); grid =
    (B, X, Y, Z)."""
    B, X, Y, Z = grid
    wx, wy, wz = window
    # (B * nW, N, C) -> (B, X/wx, Y/wy, Z/wz, wx, wy, wz, C)
    x = windows.view(B, X // wx, Y // wy, Z // wz, wx, wy, wz, -1)
    # -> (B, X/wx, wx, Y/wy, wy, Z/wz, wz, C) -> (B, X, Y, Z, C)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(B, X, Y, Z, -1)


def _region_ids(size: int, window: int, shift: int, device: torch.device) -> torch.Tensor:
    """Region id (0, 1, 2) of each position along one padded axis after a cyclic shift.

    Regions are [0, size - window), [size - window, size - shift), [size - shift, size).
    With shift 0 the whole axis is one region (MONAI's slices degenerate the same way).
    """
    pos = torch.arange(size, device=device)
    if shift == 0:
        return torch.zeros(size, dtype=torch.long, device=device)
    return (pos >= size - window).long() + (pos >= size - shift).long()


def shifted_window_mask(
    grid: tuple[int, int, int],
    window: tuple[int, int, int],
    shift: tuple[int, int, int],
    device: torch.device,
) -> torch.Tensor:
    """Additive attention mask for shifted windows on a padded token grid (X, Y, Z).

    Returns (nW, N, N), N = wx * wy * wz: 0 where two tokens of a window come from the same
    region of the un-shifted grid, MASK_VALUE elsewhere.
    """
    ix, iy, iz = (_region_ids(g, w, s, device) for g, w, s in zip(grid, window, shift))
    # (X, Y, Z) region label, 9 * ix + 3 * iy + iz, as a (1, X, Y, Z, 1) float image
    label = (9 * ix[:, None, None] + 3 * iy[None, :, None] + iz[None, None, :]).float()
    windows = window_partition(label[None, ..., None], window).squeeze(-1)  # (nW, N)
    diff = windows[:, None, :] - windows[:, :, None]  # (nW, N, N)
    return torch.where(diff != 0, torch.full_like(diff, MASK_VALUE), torch.zeros_like(diff))


@functools.lru_cache(maxsize=64)
def cached_window_mask(
    grid: tuple[int, int, int],
    window: tuple[int, int, int],
    shift: tuple[int, int, int],
    device: torch.device,
) -> torch.Tensor:
    """`shifted_window_mask`, built once per (grid, window, shift, device): (nW, N, N)."""
    with torch.inference_mode(False), torch.no_grad():
        return shifted_window_mask(grid, window, shift, device)
