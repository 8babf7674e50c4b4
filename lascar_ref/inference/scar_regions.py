"""Where on the atrium the scar is: six landmark-free wall regions — docs/design.md §13.

Each surface node of the LA (surface_projection.py's boundary voxels, or a mesh vertex) belongs
to the region of its direction from the LA centroid in the patient's frame (NIfTI world, RAS,
through the scan's affine, so a scan stored in any orientation gets the same regions): the
region whose outward axis has the largest component of that direction,
  anterior +A | posterior -A | septal +R (towards the right atrium) | lateral -R (left) |
  roof +S | floor -S
(ties go to the earlier region in REGIONS). Per region, over its nodes, each weighted by the
area a(n) it stands for (mm^2, surface_projection.node_areas; 1 each when no areas are given),
as the surface burden:
  burden_pct(r) = 100 x a(scar nodes in r) / a(nodes in r)     (NaN for a region with no node)
  share_pct(r)  = 100 x a(scar nodes in r) / a(scar nodes)     (NaN when no node is scar)
Deviation: the clinical regions are bounded by landmarks (the pulmonary vein ostia, the mitral
annulus, the appendage, the fossa ovalis; e.g. the Utah / Benito segmentations of the LA wall);
none is detected here, so these are six sectors of directions around the centroid, to be read as
"mostly posterior", not as a clinical segmentation. The septum faces the patient's
right and somewhat anterior, the roof is also partly posterior: the sectors cut through both.
Tests: tests/test_scar_regions.py
"""

from __future__ import annotations

import math

import numpy as np

REGIONS = ("anterior", "posterior", "septal", "lateral", "roof", "floor")
# (RAS axis, sign) of each region's outward direction, in REGIONS order.
OUTWARD = ((1, 1.0), (1, -1.0), (0, 1.0), (0, -1.0), (2, 1.0), (2, -1.0))


def region_of(directions: np.ndarray) -> np.ndarray:
    """(N, 3) directions in world mm (RAS) -> (N,) int region index into REGIONS."""
    d = np.asarray(directions, dtype=np.float64)
    scores = np.stack([sign * d[:, axis] for axis, sign in OUTWARD], axis=1)  # (N, 6)
    return np.argmax(scores, axis=1)


def to_world(index: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """(N, 3) voxel coordinates -> (N, 3) world mm through the (4, 4) affine."""
    a = np.asarray(affine, dtype=np.float64)
    return np.asarray(index, dtype=np.float64) @ a[:3, :3].T + a[:3, 3]


def node_regions(la: np.ndarray, nodes: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """(N,) region index of each node (N, 3 voxel indices) of the LA mask (X, Y, Z): its direction
    from the centroid of the LA voxels, in world mm."""
    centroid = np.argwhere(np.asarray(la) > 0).mean(axis=0)  # (3,) voxel coordinates
    return region_of(to_world(nodes, affine) - to_world(centroid[None], affine))


def regional_burden(
    regions: np.ndarray, hit: np.ndarray, area: np.ndarray | None = None
) -> dict[str, float]:
    """{region}_burden_pct and {region}_share_pct (module docstring) from each node's region,
    whether scar projects onto it and the area it stands for (N,) mm^2 (None: 1 per node)."""
    regions, hit = np.asarray(regions), np.asarray(hit, dtype=bool)
    area = np.ones(len(hit)) if area is None else np.asarray(area, dtype=np.float64)
    total = float(area[hit].sum())
    out = {}
    for r, name in enumerate(REGIONS):
        inside = regions == r
        a, scar = float(area[inside].sum()), float(area[hit & inside].sum())
        out[f"{name}_burden_pct"] = 100.0 * scar / a if a > 0 else math.nan
        out[f"{name}_share_pct"] = 100.0 * scar / total if total > 0 else math.nan
    return out
