"""Label channels of a case — paper §3.2 (Y_LA, Y_scar, M_wall of Eq. 6); docs/design.md §0.

A case's labels travel as one float32 tensor (B, 3, X, Y, Z) in the order (LA, scar, wall), so
that the spatial augmentation moves all three with one sampling grid (docs/design.md §4). The
dataset stacks them with `stack_labels`; the stage losses read them with `split_labels`. Task 2
cases (LA only) carry an all-zero scar channel. Tests: tests/test_stage_table.py
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

LABEL_CHANNELS = ("la", "scar", "wall")  # channel order of every label tensor


class Labels(NamedTuple):
    """The three label channels of a batch, each (B, 1, X, Y, Z) float32 in {0, 1}."""

    la: torch.Tensor  # Y_LA (Eq. 3, 5)
    scar: torch.Tensor  # Y_scar (Eq. 5, 8, 9)
    wall: torch.Tensor  # M_wall (Eq. 6), the ground-truth LA's wall band


def split_labels(labels: torch.Tensor) -> Labels:
    """(B, 3, X, Y, Z) -> Labels of three (B, 1, X, Y, Z) views, named by LABEL_CHANNELS."""
    if labels.ndim != 5 or labels.shape[1] != len(LABEL_CHANNELS):
        raise ValueError(
            f"labels must be (B, 3, X, Y, Z) = {LABEL_CHANNELS}, got {tuple(labels.shape)}"
        )
    return Labels(*(labels[:, k : k + 1] for k in range(len(LABEL_CHANNELS))))


def stack_labels(la: np.ndarray, scar: np.ndarray | None, wall: np.ndarray) -> torch.Tensor:
    """Three (X, Y, Z) masks -> (1, 3, X, Y, Z) float32 in LABEL_CHANNELS order (no scar: zeros)."""
    scar = np.zeros_like(la) if scar is None else scar
    return torch.from_numpy(np.stack([la, scar, wall]).astype(np.float32))[None]


def channel(name: str) -> int:
    """Index of a named channel ("la", "scar", "wall") in a label tensor."""
    return LABEL_CHANNELS.index(name)
