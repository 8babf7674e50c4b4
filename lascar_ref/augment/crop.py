"""Label-guided patch sampling — paper §1 ("label-guided sampling"), §4.1; docs/design.md §4.

With probability `pos_fraction` (0.5, i.e. positive : negative = 1 : 1) the patch centre is a
uniformly drawn voxel of the stage's target (LA in Stage I, scar in II and III), else a uniform
voxel of the volume; the centre is clamped so that the un-augmented patch lies inside the volume
(MONAI RandCropByPosNegLabel semantics). A case with an empty target draws uniform centres.
Tests: tests/test_table1_params.py
"""

from __future__ import annotations

import torch

POS_FRACTION = 0.5  # docs/design.md §4


def foreground_indices(mask: torch.Tensor) -> torch.Tensor:
    """(X, Y, Z) mask -> (K,) int64 flat indices of its voxels, precomputed once per case
    (on the CPU)."""
    return torch.nonzero(mask.reshape(-1) > 0).flatten().cpu()


def sample_starts(
    volume: tuple[int, int, int],
    patch: tuple[int, int, int],
    fg_indices: list[torch.Tensor | None],
    generator: torch.Generator,
    pos_fraction: float = POS_FRACTION,
) -> torch.Tensor:
    """One patch corner per entry of fg_indices -> (B, 3) int64; the same random draws whatever is
    chosen."""
    if any(p > n for p, n in zip(patch, volume)):
        raise ValueError(f"patch {tuple(patch)} is larger than the volume {tuple(volume)}")
    X, Y, Z = volume
    B = len(fg_indices)
    pos = torch.rand(B, generator=generator) < pos_fraction
    pick = torch.rand(B, generator=generator)
    uniform_flat = torch.randint(0, X * Y * Z, (B,), generator=generator)
    flat = uniform_flat.clone()
    for b, fg in enumerate(fg_indices):
        if pos[b] and fg is not None and fg.numel() > 0:
            flat[b] = fg[min(int(pick[b] * fg.numel()), fg.numel() - 1)]
    centre = torch.stack([flat // (Y * Z), (flat // Z) % Y, flat % Z], 1)  # (B, 3) voxel indices
    half = torch.tensor([p // 2 for p in patch])
    high = torch.tensor([n - p for n, p in zip(volume, patch)])
    return torch.minimum(torch.clamp(centre - half, min=0), high)
