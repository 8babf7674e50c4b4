"""The predicted LA surface as a VTK mesh (lascar_ref/inference/mesh.py; docs/design.md §13):
vertices in world mm through the affine, the scar map of the challenge's projection, and the file
read back by an independent reader (VTK's own legacy PolyData reader, what ParaView uses), with
the region id of each vertex."""

import math

import numpy as np
import pytest
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkIOLegacy import vtkPolyDataReader

from lascar_ref.inference.mesh import FRAME, la_mesh, write_vtk
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
