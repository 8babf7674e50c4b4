"""Table 1 augmentations, label-guided sampling and the Eq. (2) composition (docs/design.md §4)."""

from .crop import foreground_indices, sample_starts
from .pipeline import apply_params, augment, augmented_samples, sample_params
from .table1 import ORDER, PAPER_P, TABLE1

__all__ = [
    "foreground_indices",
    "sample_starts",
    "apply_params",
    "augment",
    "augmented_samples",
    "sample_params",
    "ORDER",
    "PAPER_P",
    "TABLE1",
]
