"""The predicted LA surface as a VTK mesh (lascar_ref/inference/mesh.py; docs/design.md §13):
vertices in world mm through the affine, the scar map of the challenge's projection, and the file
read back by an independent reader (VTK's own legacy PolyData reader, what ParaView uses), with
the region id of each vertex."""

import math

import numpy as np
import pytest
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkIOLegacy import vtkPolyDataReader

from lascar_ref.inference.mesh import FRAME, la_mesh, vertex_normals, write_vtk
from lascar_ref.inference.scar_regions import REGIONS


def sphere_with_cap(spacing, radius=12.0):
    sp = np.asarray(spacing, dtype=float)
    n = np.ceil(2 * (radius + 6) / sp).astype(int)
    axes = [np.arange(k) * s - (k - 1) / 2 * s for k, s in zip(n, sp)]
    g = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    r = np.linalg.norm(g, axis=-1)
    cap = (r >= radius - 1) & (r <= radius + 2) & (g[..., 0] / np.maximum(r, 1e-9) >= 0.5)
    return r <= radius, cap, (n - 1) / 2


def test_the_mesh_is_in_world_mm_with_the_scar_cap_and_reads_back(tmp_path):
    spacing = (1.0, 1.0, 2.0)
    la, cap, centre = sphere_with_cap(spacing)
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = (100.0, -50.0, 20.0)  # the image origin in world mm
    mesh = la_mesh(la, cap, affine, spacing)
    world_centre = affine[:3, :3] @ centre + affine[:3, 3]
    r = np.linalg.norm(mesh.points - world_centre, axis=1)
    assert np.all(np.abs(r - 12.5) < 1.6)  # the 0.5 iso-surface of a 12 mm ball, in world mm
    direction = (mesh.points - world_centre) / r[:, None]
    scar = mesh.scar.astype(bool)
    assert direction[scar, 0].min() > 0.3 and direction[~scar, 0].max() < 0.7  # the +x cap
    assert scar.mean() == pytest.approx((1 - math.cos(math.pi / 3)) / 2, abs=0.06)
    path = write_vtk(tmp_path / "la.vtk", mesh)
    assert FRAME in path.read_text().splitlines()[1]
    reader = vtkPolyDataReader()  # an independent reader
    reader.SetFileName(str(path))
    reader.Update()
    back = reader.GetOutput()
    assert back.GetNumberOfPoints() == len(mesh.points)
    assert back.GetNumberOfPolys() == len(mesh.triangles)
    assert np.allclose(vtk_to_numpy(back.GetPoints().GetData()), mesh.points, atol=1e-4)
    polys = vtk_to_numpy(back.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    assert np.array_equal(polys, mesh.triangles)
    assert np.array_equal(vtk_to_numpy(back.GetPointData().GetArray("scar")), mesh.scar)
    region = vtk_to_numpy(back.GetPointData().GetArray("region"))
    assert np.array_equal(region, mesh.region)
    # the cap faces world +x, the patient's right: its vertices are septal (id 2)
    assert np.mean(region[direction[:, 0] > 0.75] == REGIONS.index("septal")) == 1.0
    assert set(np.unique(region)) == set(range(len(REGIONS)))


def test_an_empty_la_is_refused_and_no_scar_is_all_wall():
    la, _, _ = sphere_with_cap((1.0, 1.0, 1.0))
    assert not la_mesh(la, None, np.eye(4), (1.0, 1.0, 1.0)).scar.any()
    with pytest.raises(ValueError, match="no LA predicted"):
        la_mesh(np.zeros_like(la), None, np.eye(4), (1.0, 1.0, 1.0))


def slanted_block(spacing=(1.0, 1.0, 3.0)):
    """An LA block whose top is the plane z = x + 5 mm (true outward normal (-1, 0, 1) / sqrt 2),
    on 1 x 1 x 3 mm voxels, and a 1.5 mm-thick scar slab 4-5.5 mm outside that plane for x in
    [15, 25] mm: probed along the true normal, the vertices with x in about [18, 29] mm reach it."""
    sp = np.asarray(spacing)
    i, j, k = np.meshgrid(*[np.arange(s) for s in (44, 20, 18)], indexing="ij")
    x, z = i * sp[0], k * sp[2]
    la = (z < x + 5) & (x > 3) & (x < 40) & (z > 3)
    offset = (z - x - 5) / np.sqrt(2)  # signed distance from the plane, mm
    scar = (offset > 4) & (offset < 5.5) & (x > 15) & (x < 25)
    return la, scar, np.diag([*sp, 1.0]), tuple(sp)


def test_the_probe_follows_the_normal_in_mm_on_anisotropic_voxels():
    pytest.importorskip("skimage")
    la, scar, affine, spacing = slanted_block()
    mesh = la_mesh(la, scar, affine, spacing)
    top = np.abs(mesh.points[:, 2] - mesh.points[:, 0] - 5) < 2  # vertices on the slanted plane
    hit_x = mesh.points[top & (mesh.scar > 0), 0]
    # along the true normal, a vertex at x reaches the slab 3.3-3.9 mm of x back: the hit
    # vertices lie at x ~ 18.3-28.9 mm, centred near 23.6; index-space normals (31° steeper)
    # reach it from x ~ 16-27 and centre near 21
    assert len(hit_x) > 20
    assert np.median(hit_x) == pytest.approx(23.6, abs=1.0)


def test_vertex_normals_are_perpendicular_to_the_surface_in_mm():
    measure = pytest.importorskip("skimage.measure")
    la, _, _, spacing = slanted_block()
    verts, faces, raw, _ = measure.marching_cubes(np.pad(la, 1).astype(np.float32), 0.5,
                                                  spacing=spacing)  # fmt: skip
    on_plane = np.abs(verts[:, 2] - verts[:, 0] - 5 - (spacing[2] - spacing[0])) < 2
    inner = (
        on_plane & (verts[:, 0] > 12) & (verts[:, 0] < 30) & (verts[:, 1] > 4) & (verts[:, 1] < 16)
    )
    true = np.array([-1.0, 0.0, 1.0]) / np.sqrt(2)

    def angle(u):
        u = u / np.linalg.norm(u, axis=1, keepdims=True)
        return np.degrees(np.arccos(np.clip(np.abs(u @ true), 0, 1)))

    assert np.median(angle(vertex_normals(verts, faces)[inner])) < 12
    assert np.median(angle(raw[inner])) > 25  # scikit-image's: the gradient in index units
