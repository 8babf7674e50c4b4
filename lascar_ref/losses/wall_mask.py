"""LA wall mask — paper §3.2, Eq. (6):  M_wall = 1(d_in <= delta_in AND d_out <= delta_out)

d_in  (`d_in_mm`):  Euclidean distance in mm from a cavity voxel to the nearest non-cavity
                    voxel (0 outside the cavity);
d_out (`d_out_mm`): the same from a non-cavity voxel to the nearest cavity voxel (0 inside).
delta_in = 3.0 mm (`delta_in_mm`), delta_out = 2.5 mm (`delta_out_mm`): a band 3 mm into the
cavity and 2.5 mm out of it. Distances between voxel centres with the volume's spacing.

Deviation (the paper does not say how distances are measured): between voxel centres in mm, and
an empty or full LA gives an empty band. docs/design.md §3: squared distances are compared with
delta^2 (ties are real at 0.625/2.5 mm spacing: 4 x 0.625 = 2.5). They come from scipy's exact
Euclidean feature transform, summed in the same order scipy sums them, so the mask equals
thresholding scipy.ndimage.distance_transform_edt(..., sampling=spacing) exactly. Only the
bounding box of the cavity plus a margin larger than delta is transformed (both distances are
bounded there). A full LA (no background) has no band either.
Tests: tests/test_eq6_wall_mask.py; benchmark: bench/bench_wall_mask.py
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import ndimage

DELTA_IN_MM = 3.0  # Eq. 6, paper §3.2
DELTA_OUT_MM = 2.5  # Eq. 6, paper §3.2


def squared_distance_mm2(region: np.ndarray, spacing_mm: tuple[float, ...]) -> np.ndarray:
    """Squared distance (mm^2) from each True voxel of `region` to the nearest False voxel; 0 on
    False.

    `region` must contain at least one False voxel.
    """
    ft = ndimage.distance_transform_edt(
        region, sampling=spacing_mm, return_distances=False, return_indices=True
    )  # (ndim, *shape) nearest False voxel
    d2 = np.zeros(region.shape, dtype=np.float64)
    for axis, s in enumerate(spacing_mm):
        delta = (
            ft[axis]
            - np.arange(region.shape[axis]).reshape(
                [-1 if a == axis else 1 for a in range(region.ndim)]
            )
        ) * float(s)
        d2 += delta * delta
    return d2


def _wall_mask_np(
    la: np.ndarray, spacing_mm: tuple[float, ...], delta_in_mm: float, delta_out_mm: float
) -> np.ndarray:
    la = la.astype(bool)
    band = np.zeros(la.shape, dtype=bool)
    if not la.any() or la.all():
        return band
    margin = [math.floor(max(delta_in_mm, delta_out_mm) / s) + 1 for s in spacing_mm]
    lo = [max(int(i.min()) - m, 0) for i, m in zip(np.nonzero(la), margin)]
    hi = [min(int(i.max()) + m + 1, n) for i, m, n in zip(np.nonzero(la), margin, la.shape)]
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    cav = la[box]  # unclipped sides keep >= 1 background layer, so d_in inside the box is exact
    d_in2 = squared_distance_mm2(cav, spacing_mm)  # cavity -> background
    d_out2 = squared_distance_mm2(~cav, spacing_mm)  # background -> cavity
    band[box] = (d_in2 <= delta_in_mm**2) & (d_out2 <= delta_out_mm**2)
    return band


def wall_mask(
    la_mask, spacing_mm, delta_in_mm: float = DELTA_IN_MM, delta_out_mm: float = DELTA_OUT_MM
):
    """Eq. 6 on a binary LA mask (numpy array or torch tensor) -> bool mask of the same type and
    shape.

    `spacing_mm` has one entry per spatial axis; any leading axes beyond them (e.g. B, C of
    (B, C, X, Y, Z)) are treated as independent volumes.
    """
    spacing_mm = tuple(float(s) for s in spacing_mm)
    if any(not s > 0 for s in spacing_mm):
        raise ValueError(f"voxel spacing must be positive, got {spacing_mm} mm")
    is_torch = isinstance(la_mask, torch.Tensor)
    arr = la_mask.detach().cpu().numpy() if is_torch else np.asarray(la_mask)
    nd = len(spacing_mm)
    if arr.ndim < nd:
        raise ValueError(f"mask has {arr.ndim} axes but spacing {spacing_mm} has {nd}")
    lead = arr.shape[: arr.ndim - nd]
    flat = arr.reshape((-1,) + arr.shape[arr.ndim - nd :]) > 0
    out = np.stack([_wall_mask_np(v, spacing_mm, delta_in_mm, delta_out_mm) for v in flat])
    out = out.reshape(lead + arr.shape[arr.ndim - nd :])
    return torch.from_numpy(out).to(la_mask.device) if is_torch else out
