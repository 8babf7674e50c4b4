"""Content fingerprints that find the copies of a scan — docs/design.md §5.

Folds must not leak (paper §4.2 with Stage I on Task 2 and Stages II-III on Task 1): no copy of a
fold-k validation scan may train in fold k (groups.py groups the copies, folds.py deals groups).
The copies of a scan may be stored in another orientation, data type or intensity scaling, so an
exact hash of the voxels is not enough. The fingerprint is the image reoriented to RAS
(nibabel's closest canonical orientation), average-pooled to FP_SHAPE and z-scored; two scans are
the same when the Pearson correlation of their fingerprints is >= MATCH_CORR (distinct scans of
one anatomy stay far below; tests/test_data_folds.py measures both).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from nibabel.orientations import apply_orientation, axcodes2ornt, io_orientation, ornt_transform

FP_SHAPE = (32, 32, 8)  # pooled grid of the fingerprint
MATCH_CORR = 0.99  # minimum correlation of two fingerprints of one scan


def canonical(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """(X, Y, Z) voxels reordered / flipped to the world's RAS axis order (closest canonical)."""
    transform = ornt_transform(io_orientation(affine), axcodes2ornt("RAS"))
    return apply_orientation(data, transform)


def fingerprint(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """(X, Y, Z) image + affine -> FP_SHAPE float32, zero mean and unit variance."""
    ras = np.ascontiguousarray(canonical(np.asarray(data, dtype=np.float32), affine))
    pooled = F.adaptive_avg_pool3d(torch.from_numpy(ras)[None, None], FP_SHAPE)[0, 0].numpy()
    std = float(pooled.std())
    return ((pooled - pooled.mean()) / (std if std > 0 else 1.0)).astype(np.float32)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two z-scored fingerprints."""
    return float(np.mean(a.astype(np.float64) * b.astype(np.float64)))
