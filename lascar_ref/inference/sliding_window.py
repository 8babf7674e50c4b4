"""Sliding-window inference — paper §4.2 (validation on whole volumes); docs/design.md §6.

Windows of `patch` (default 224 x 192 x 32) with overlap 0.5 (stride int(patch * 0.5), the last
window flush with the volume end: 12 windows on 384 x 256 x 40), batched; each window's sigmoid
probabilities are weighted by a Gaussian importance map (sigma = patch / 8 per axis, peak 1,
floored at 1e-3) and the weighted average is returned. A volume smaller than the patch along an
axis is padded at its end with edge values and cropped back. Optional mirroring TTA averages the
8 flips. Works on any device; tqdm progress over windows.
Tests: tests/test_inference.py; benchmark: bench/bench_inference.py
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..config import OVERLAP, PATCH


def window_starts(size: int, patch: int, overlap: float = OVERLAP) -> list[int]:
    """Start indices along one axis; the last window ends at the volume end."""
    if size <= patch:
        return [0]
    stride = max(1, int(patch * (1 - overlap)))
    n = math.ceil((size - patch) / stride) + 1
    return sorted({min(i * stride, size - patch) for i in range(n)})


def gaussian_importance(patch, device, sigma_scale: float = 0.125) -> torch.Tensor:
    """(X, Y, Z) weights: product of Gaussians with sigma = patch * sigma_scale, peak 1, floor
    1e-3."""
    axes = [
        torch.exp(
            -0.5
            * (
                (torch.arange(p, device=device, dtype=torch.float32) - (p - 1) / 2)
                / (p * sigma_scale)
            )
            ** 2
        )
        for p in patch
    ]
    w = axes[0][:, None, None] * axes[1][None, :, None] * axes[2][None, None, :]
    return (w / w.max()).clamp_min(1e-3)


@torch.no_grad()
def sliding_window_probs(
    volume: torch.Tensor,
    predict: Callable[[torch.Tensor], torch.Tensor],
    patch=PATCH,
    overlap: float = OVERLAP,
    batch_size: int = 2,
    mirror: bool = False,
    progress: bool = True,
) -> torch.Tensor:
    """volume (1, C, X, Y, Z); predict: (n, C, *patch) -> logits (n, K, *patch). Returns
    (1, K, X, Y, Z) averaged sigmoid probabilities (float32, on the volume's device)."""
    if volume.ndim != 5 or volume.shape[0] != 1:
        raise ValueError(f"expected a (1, C, X, Y, Z) volume, got {tuple(volume.shape)}")
    size = tuple(volume.shape[2:])
    pad = [max(p - s, 0) for p, s in zip(patch, size)]
    if any(pad):
        volume = F.pad(volume, (0, pad[2], 0, pad[1], 0, pad[0]), mode="replicate")
    full = tuple(volume.shape[2:])
    starts = list(itertools.product(*(window_starts(n, p, overlap) for n, p in zip(full, patch))))
    weight = gaussian_importance(patch, volume.device)
    acc, norm = None, torch.zeros(full, device=volume.device)
    flips = [d for r in range(4) for d in itertools.combinations((2, 3, 4), r)] if mirror else [()]
    bar = tqdm(
        total=len(starts), desc="sliding window", unit="win", disable=not progress, leave=False
    )
    for i in range(0, len(starts), batch_size):
        chunk = starts[i : i + batch_size]
        x = torch.cat(
            [volume[..., a : a + patch[0], b : b + patch[1], c : c + patch[2]] for a, b, c in chunk]
        )
        prob = sum(
            torch.sigmoid(predict(x.flip(f) if f else x).float()).flip(f)
            if f
            else torch.sigmoid(predict(x).float())
            for f in flips
        ) / len(flips)
        if acc is None:
            acc = torch.zeros((prob.shape[1],) + full, device=volume.device)
        for (a, b, c), p in zip(chunk, prob):
            acc[:, a : a + patch[0], b : b + patch[1], c : c + patch[2]] += p * weight
            norm[a : a + patch[0], b : b + patch[1], c : c + patch[2]] += weight
        bar.update(len(chunk))
    bar.close()
    out = acc / norm
    return out[None, :, : size[0], : size[1], : size[2]]
