"""Label channels of a case — paper §3.2 (Y_LA, Y_scar, M_wall of Eq. 6); docs/design.md §0.

A case's labels travel as one float32 tensor (B, 3, X, Y, Z) in the order (LA, scar, wall), so
that the spatial augmentation moves all three with one sampling grid (docs/design.md §4). The
dataset stacks them with `stack_labels`; the stage losses read them with the channel slices `LA`,
`SCAR`, `WALL` (`labels[:, SCAR]` is (B, 1, X, Y, Z)). Task 2 cases (LA only) carry an all-zero
scar channel. Like errors.py this module imports nothing of ours, so every room may read it.
Tests: tests/test_stage_table.py
"""

from __future__ import annotations

import numpy as np
import torch

LABEL_CHANNELS = ("la", "scar", "wall")  # channel order of every label tensor
LA, SCAR, WALL = (slice(k, k + 1) for k in range(len(LABEL_CHANNELS)))  # keep the C axis


def stack_labels(la: np.ndarray, scar: np.ndarray | None, wall: np.ndarray) -> torch.Tensor:
    """Three (X, Y, Z) masks -> (1, 3, X, Y, Z) float32 in LABEL_CHANNELS order (no scar: zeros)."""
    scar = np.zeros_like(la) if scar is None else scar
    return torch.from_numpy(np.stack([la, scar, wall]).astype(np.float32))[None]


def channel(name: str) -> int:
    """Index of a named channel ("la", "scar", "wall") in a label tensor."""
    return LABEL_CHANNELS.index(name)
