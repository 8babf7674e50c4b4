"""The predicted LA surface as a mesh with its scar map, for ParaView, 3D Slicer, CemrgApp —
docs/design.md §13 (optional `mesh` extra: scikit-image).

`la_mesh(la, scar, affine, spacing_mm)`: marching cubes (scikit-image, level 0.5) on the
predicted LA mask (X, Y, Z), vertices mapped through the scan's NIfTI affine to world millimetres
in RAS (NIfTI's world frame), and per vertex the scar value of the challenge's projection
(surface_projection.py: 0.5 mm probes up to 10 mm along the vertex normal, both ways, meeting a
predicted scar voxel). The probe's normal is taken in mm (`vertex_normals` of the vertices scaled
by the spacing: area-weighted face normals, smoothed over the triangles' corners), not
scikit-image's own normals, which come from the volume's gradient in index units and so point
the wrong way on anisotropic voxels (31° off, median, on a 45° plane at 1 x 1 x 3 mm, against 9°
for these; tests/test_mesh.py): 1 scar, 0 wall, and its region id (scar_regions.py: the vertex's
direction from the LA centroid in RAS; 0 anterior, 1 posterior, 2 septal, 3 lateral, 4 roof,
5 floor). `write_vtk(path, mesh)`: a VTK legacy ASCII PolyData file whose title line says the
frame ("world mm, RAS") and the region ids: 3D Slicer works in LPS, so there the x and y
coordinates are negated on loading (Slicer asks for the coordinate system of a .vtk model).
Tests: tests/test_mesh.py
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .scar_regions import REGIONS, node_regions
from .surface_projection import project

FRAME = "world mm, RAS (3D Slicer: LPS, negate x and y)"
REGION_IDS = ", ".join(f"{i} {name}" for i, name in enumerate(REGIONS))


@dataclass
class Mesh:
    """A triangle mesh with one scar value per vertex."""

    points: np.ndarray  # (V, 3) float64, world mm, RAS
    triangles: np.ndarray  # (T, 3) int64 vertex indices
    scar: np.ndarray  # (V,) uint8: 1 where predicted scar projects onto the vertex
    region: np.ndarray  # (V,) uint8: index into scar_regions.REGIONS


def require_skimage():
    """skimage.measure, or a one-line ImportError naming the extra."""
    try:
        from skimage import measure
    except ImportError:
        raise ImportError("--mesh needs scikit-image: pip install -e '.[mesh]'") from None
    return measure


def la_mesh(la: np.ndarray, scar: np.ndarray | None, affine: np.ndarray, spacing_mm) -> Mesh:
    """The LA surface of a predicted LA mask (X, Y, Z) with the scar value (all 0 without a scar
    mask) and the region of each vertex; ValueError for an empty LA."""
    la = np.asarray(la) > 0
    if not la.any():
        raise ValueError("no LA predicted: no surface to mesh")
    measure = require_skimage()
    padded = np.pad(la, 1).astype(np.float32)  # a closed surface where the LA touches the edge
    spacing = np.asarray(spacing_mm, dtype=np.float64)
    verts, faces, _, _ = measure.marching_cubes(padded, 0.5, spacing=tuple(spacing))
    index = verts / spacing - 1.0  # (V, 3) voxel coordinates of the unpadded volume
    hit = np.zeros(len(index), dtype=bool)
    if scar is not None:  # probe along the normals in mm (the module docstring)
        hit = project(scar, index, vertex_normals(verts, faces), spacing)
    world = np.c_[index, np.ones(len(index))] @ np.asarray(affine, dtype=np.float64).T
    region = node_regions(la, index, affine).astype(np.uint8)
    return Mesh(world[:, :3], faces.astype(np.int64), hit.astype(np.uint8), region)


def outward_normals(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(T, 3) unit normals of the triangles (points (V, 3), triangles (T, 3)), turned as a whole
    so that they point away from the centroid on average."""
    tri = points[triangles]  # (T, 3 corners, 3)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    away = np.sum(n * (tri.mean(axis=1) - points.mean(axis=0)), axis=1)
    return n if away.sum() >= 0 else -n


def vertex_normals(points: np.ndarray, triangles: np.ndarray, passes: int = 3) -> np.ndarray:
    """(V, 3) unit vertex normals: the outward face normals summed over each vertex's triangles,
    then `passes` rounds of averaging over the triangles' corners (smoothing the staircase)."""
    face = outward_normals(points, triangles)
    n = np.zeros_like(points)
    np.add.at(n, triangles.ravel(), np.repeat(face, 3, axis=0))
    for _ in range(passes):
        corners = n[triangles].mean(axis=1)  # (T, 3)
        n = np.zeros_like(points)
        np.add.at(n, triangles.ravel(), np.repeat(corners, 3, axis=0))
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def write_vtk(path: Path, mesh: Mesh) -> Path:
    """VTK legacy ASCII PolyData: POINTS, POLYGONS (triangles), POINT_DATA: the scalars "scar"
    (the active array) and the field array "region"."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n, t = len(mesh.points), len(mesh.triangles)
    lines = [
        "# vtk DataFile Version 3.0",
        f"lascar_ref predicted LA surface; {FRAME}; region {REGION_IDS}",
        "ASCII",
        "DATASET POLYDATA",
        f"POINTS {n} double",
        *(f"{x:.4f} {y:.4f} {z:.4f}" for x, y, z in mesh.points),
        f"POLYGONS {t} {4 * t}",
        *(f"3 {a} {b} {c}" for a, b, c in mesh.triangles),
        f"POINT_DATA {n}",
        "SCALARS scar unsigned_char 1",
        "LOOKUP_TABLE default",
        *(str(int(v)) for v in mesh.scar),
        "FIELD FieldData 1",  # a field array: read by default, unlike a second SCALARS
        f"region 1 {n} unsigned_char",
        *(str(int(v)) for v in mesh.region),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
