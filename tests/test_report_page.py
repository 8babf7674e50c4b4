"""The per-scan report page (lascar_ref/inference/report_page.py, mesh_view.py; docs/design.md
§13): the viewing geometry by hand, a view shows the side it faces (node squares and the shaded
mesh), the mesh's silhouette, and the page's size and content."""

import numpy as np
import pytest

from lascar_ref.inference.mesh import la_mesh
from lascar_ref.inference.mesh_view import PIXEL_MM, render_mesh_view
from lascar_ref.inference.overlay import DPI, require_matplotlib
from lascar_ref.inference.report_page import (
    PAGE_INCHES,
    VIEWS,
    direction_letter,
    render_view,
    report_page,
    screen_axes,
    visible,
)
from lascar_ref.inference.scar_report import surface_map
from lascar_ref.inference.whole_scan import scan_summary


def test_the_viewing_geometry_by_hand():
    views = {name: (view, up) for name, view, up in VIEWS}
    right, up = screen_axes(*views["anterior"])
    assert np.allclose(right, (-1, 0, 0)) and np.allclose(up, (0, 0, 1))  # R on the left
    assert np.allclose(screen_axes(*views["posterior"])[0], (1, 0, 0))
    assert np.allclose(screen_axes(*views["superior"])[0], (1, 0, 0))  # anterior up
    assert np.allclose(screen_axes(*views["left"])[0], (0, -1, 0))  # P on the right
    normals = np.array([[0, 1, 0], [0, -1, 0], [0.1, 0.2, 0.97], [0, 0, 0]])
    assert visible(normals, (0, 1, 0)).tolist() == [True, False, True, False]
    letters = [direction_letter(v) for v in np.eye(3)] + [direction_letter(-v) for v in np.eye(3)]
    assert letters == ["R", "A", "S", "L", "P", "I"]


def ball_with_anterior_cap(n=44, radius=14.0):
    g = np.stack(np.meshgrid(*[np.arange(n) - (n - 1) / 2] * 3, indexing="ij"), axis=-1)
    r = np.linalg.norm(g, axis=-1)
    cap = (r >= radius - 1) & (r <= radius + 2) & (g[..., 1] / np.maximum(r, 1e-9) >= 0.8)
    return r <= radius, cap


def red(picture):
    return (picture[..., 0] > 0.4) & (picture[..., 1] < 0.3 * picture[..., 0])


def test_a_view_shows_the_side_it_faces():
    la, cap = ball_with_anterior_cap()
    surface = surface_map(la, cap, np.eye(4), (1.0, 1.0, 1.0))
    views = {name: (view, up) for name, view, up in VIEWS}
    front, extent = render_view(surface, *views["anterior"], (1.0, 1.0, 1.0))
    back, _ = render_view(surface, *views["posterior"], (1.0, 1.0, 1.0))
    assert red(front).mean() > 0.1 and red(back).sum() == 0
    # the ball's silhouette: a disc of radius ~14 mm in screen mm, white outside it
    assert extent[1] - extent[0] == pytest.approx(29.0, abs=2.0)
    covered = (front < 0.99).any(axis=-1).mean()
    assert covered == pytest.approx(np.pi / 4, abs=0.08)


def test_the_page_is_written_with_and_without_an_la(tmp_path):
    plt = require_matplotlib()
    la, cap = ball_with_anterior_cap()
    image = np.where(la, 2.0, 1.0) + 0.1 * np.random.default_rng(0).standard_normal(la.shape)
    one = (1.0, 1.0, 1.0)
    row = {"scan": "ball", **scan_summary({"la": la, "scar": cap}, one, np.eye(4))}
    row.update(utah_stage="I", qc="")
    surface = surface_map(la, cap, np.eye(4), one)
    path = report_page(image, {"la": la, "scar": cap}, one, surface, row, tmp_path / "a.png")
    page = plt.imread(str(path))
    assert page.shape[:2] == (PAGE_INCHES[1] * DPI, PAGE_INCHES[0] * DPI)
    assert red(page[..., :3]).sum() > 1000  # the scar map and the bars are drawn
    row_none = {**row, "qc": "no LA", "utah_stage": ""}
    path = report_page(image, {}, one, None, row_none, tmp_path / "b.png")
    assert plt.imread(str(path)).shape[:2] == page.shape[:2]


def ball_mesh_with_cap(facing: int, spacing=(1.25, 1.25, 2.5), radius=18.0, flip_x=False):
    """mesh.la_mesh of a ball (radius in mm) with a 60° cap of wall scar facing +axis `facing`, on
    anisotropic voxels; flip_x stores it in an LPS-like affine (x axis reversed)."""
    spacing = np.asarray(spacing)
    n = np.ceil(2 * (radius + 6) / spacing).astype(int)
    g = np.stack(np.meshgrid(*[(np.arange(k) - (k - 1) / 2) * s for k, s in zip(n, spacing)],
                             indexing="ij"), axis=-1)  # fmt: skip
    r = np.linalg.norm(g, axis=-1)
    cap = (r >= radius - 2) & (r <= radius + 2) & (g[..., facing] / np.maximum(r, 1e-9) >= 0.5)
    affine = np.diag([*spacing, 1.0])
    if flip_x:
        affine[0, 0], affine[0, 3] = -spacing[0], (n[0] - 1) * spacing[0]
    return la_mesh(r <= radius, cap, affine, spacing)


@pytest.mark.parametrize("facing, view_name, back_name", [(1, "anterior", "posterior"),
                                                           (2, "superior", None)])  # fmt: skip
def test_the_mesh_view_shows_the_cap_where_it_faces_and_the_ball_silhouette(
    facing, view_name, back_name
):
    pytest.importorskip("skimage")
    views = {name: (view, up) for name, view, up in VIEWS}
    mesh = ball_mesh_with_cap(facing)
    front, _ = render_mesh_view(mesh, *views[view_name])
    covered = (front < 0.99).any(axis=-1).sum() * PIXEL_MM**2
    assert covered == pytest.approx(np.pi * 18.0**2, rel=0.05)  # the ball's silhouette
    assert red(front).sum() * PIXEL_MM**2 > 0.5 * np.pi * (18.0 * np.sin(np.pi / 3)) ** 2
    side, _ = render_mesh_view(mesh, *views["left"])  # the cap seen edge-on: a rim, not a disc
    assert red(side).sum() < 0.5 * red(front).sum()
    if back_name:
        back, _ = render_mesh_view(mesh, *views[back_name])
        assert red(back).sum() == 0


def test_the_mesh_view_is_the_same_for_a_mirrored_affine():
    pytest.importorskip("skimage")
    views = {name: (view, up) for name, view, up in VIEWS}
    mesh = ball_mesh_with_cap(1, flip_x=True)  # faces wind the other way in world space
    front, _ = render_mesh_view(mesh, *views["anterior"])
    back, _ = render_mesh_view(mesh, *views["posterior"])
    assert red(front).sum() * PIXEL_MM**2 > 100 and red(back).sum() == 0


def test_the_page_draws_the_mesh_where_one_is_given(tmp_path):
    plt = require_matplotlib()
    pytest.importorskip("skimage")
    la, cap = ball_with_anterior_cap()
    one = (1.0, 1.0, 1.0)
    row = {"scan": "ball", **scan_summary({"la": la, "scar": cap}, one, np.eye(4))}
    row.update(utah_stage="I", qc="")
    surface = surface_map(la, cap, np.eye(4), one)
    image = np.where(la, 2.0, 1.0)
    mesh = la_mesh(la, cap, np.eye(4), one)
    squares = plt.imread(str(report_page(image, {"la": la}, one, surface, row, tmp_path / "a.png")))
    shaded = plt.imread(
        str(report_page(image, {"la": la}, one, surface, row, tmp_path / "b.png", mesh=mesh))
    )
    assert squares.shape == shaded.shape and not np.array_equal(squares, shaded)
    assert red(shaded[..., :3]).sum() > 1000
