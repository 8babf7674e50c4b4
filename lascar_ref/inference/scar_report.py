"""What a clinician reads of a scar prediction: burden on the LA surface and the Utah stage —
docs/design.md §13; the LAScarQS protocol's projection (surface_projection.py) on a new scan.

  scar_surface_burden_pct = 100 x the share of the *predicted* LA's surface area (mm^2) on
                            whose nodes the probe (0.5 mm steps, up to 10 mm along the normal,
                            both ways) meets predicted scar: the challenge's projection, with
                            the predicted LA in place of a ground truth (a new scan has none);
                            each node weighted by the area it stands for
                            (surface_projection.node_areas), so that the burden does not depend
                            on how the scan was sliced. The challenge's own scores (surface
                            Dice, G-Dice, Sen, Spe of evaluation/surface.py) stay node-based.
  {region}_burden_pct, {region}_share_pct
                          = the same area split into six landmark-free regions by the nodes'
                            direction from the LA centroid in RAS (scar_regions.py)
  utah_stage              = the Utah / DECAAF stage of that burden (Marrouche et al., JAMA 2014:
                            I < 10%, II 10 - < 20%, III 20 - < 30%, IV >= 30%); "" without a
                            burden; "(qc flagged)" is appended when the scan carries a quality
                            flag, so a stage is never reported as clean on a flagged scan
Deviation: DECAAF measured enhancement in a manually segmented wall volume with its own
intensity threshold; this stages the predicted scar on the predicted surface, an approximation
to be read beside the Eq. 6 band burden (scar_burden_pct), not a clinical measurement.
Tests: tests/test_scar_report.py
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .scar_regions import REGIONS, node_regions, regional_burden, to_world
from .surface_projection import node_areas, node_normals, project, surface_nodes

UTAH = ((10.0, "I"), (20.0, "II"), (30.0, "III"))  # upper bounds (exclusive); IV from 30%


REPORT_KEYS = ("scar_surface_burden_pct",) + tuple(
    f"{r}_{k}" for r in REGIONS for k in ("burden_pct", "share_pct")
)


def no_surface_report() -> dict[str, float]:
    """surface_report's keys, all NaN: no LA, or no scar prediction."""
    return dict.fromkeys(REPORT_KEYS, math.nan)


@dataclass
class SurfaceMap:
    """The predicted scar on the predicted LA's surface nodes, in the patient's frame."""

    points: np.ndarray  # (N, 3) float64 node positions, world mm (RAS)
    normals: np.ndarray  # (N, 3) float64 unit outward normals, world (0 where undefined)
    hit: np.ndarray  # (N,) bool: the scar projects onto the node
    region: np.ndarray  # (N,) int: index into scar_regions.REGIONS
    area: np.ndarray  # (N,) float64 mm^2 each node stands for (surface_projection.node_areas)


def surface_map(la: np.ndarray, scar: np.ndarray, affine, spacing_mm) -> SurfaceMap | None:
    """The challenge's projection of `scar` onto the surface nodes of `la` (both (X, Y, Z) on the
    grid of the (4, 4) `affine`), with each node's region; None for an empty LA."""
    nodes = surface_nodes(la)
    if not len(nodes):
        return None
    inward = node_normals(la, nodes, spacing_mm)  # (N, 3) in index x spacing mm: into the LA
    a = np.asarray(affine, dtype=np.float64)[:3, :3]
    outward = -(inward / np.asarray(spacing_mm, dtype=np.float64)) @ a.T  # to world directions
    length = np.linalg.norm(outward, axis=1, keepdims=True)
    outward = np.divide(outward, length, out=np.zeros_like(outward), where=length > 0)
    return SurfaceMap(
        points=to_world(nodes, affine),
        normals=outward,
        hit=project(scar, nodes, inward, spacing_mm),
        region=node_regions(la, nodes, affine),
        area=node_areas(la, nodes, inward, spacing_mm),
    )


def surface_report(surface: SurfaceMap | None) -> dict[str, float]:
    """scar_surface_burden_pct and the regional {region}_burden_pct / {region}_share_pct of a
    surface map, area-weighted (all NaN for None: no LA)."""
    if surface is None:
        return no_surface_report()
    area, total = surface.area, float(surface.area.sum())
    burden = 100.0 * float((area * surface.hit).sum()) / total if total > 0 else math.nan
    return {
        "scar_surface_burden_pct": burden,
        **regional_burden(surface.region, surface.hit, area),
    }


def utah_stage(burden_pct: float, flagged: bool = False) -> str:
    """ "I" ... "IV" for a burden in %, "" for NaN; " (qc flagged)" appended when flagged."""
    if math.isnan(burden_pct):
        return ""
    stage = next((name for bound, name in UTAH if burden_pct < bound), "IV")
    return stage + (" (qc flagged)" if flagged else "")
