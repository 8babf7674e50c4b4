"""Sampling helpers shared by the Table 1 operations — docs/design.md §4.

All parameters come from one CPU `torch.Generator` (its state is checkpointed), so a seed gives
the same parameters on any device. Large noise fields are drawn on the data's device from
per-sample seeds that the CPU generator draws (`draw_seeds`), never copied from the host.
"""

from __future__ import annotations

import torch

from .table1 import ROWS


def uniform(batch_size: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    """(B,) float32 on the CPU, U(low, high)."""
    return low + (high - low) * torch.rand(batch_size, generator=generator)


def table_uniform(key: str, name: str, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    low, high = ROWS[key].ranges[name]
    return uniform(batch_size, low, high, generator)


def draw_seeds(batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """(B,) int64 seeds for device-side noise."""
    return torch.randint(0, 2**62, (batch_size,), generator=generator, dtype=torch.int64)


def device_normal(shape: tuple[int, ...], seed: int, device: torch.device) -> torch.Tensor:
    """Standard normal noise of `shape` generated on `device` from an integer seed."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return torch.randn(shape, generator=g, device=device)
