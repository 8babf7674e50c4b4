"""The per-scan report page (lascar_ref/inference/report_page.py; docs/design.md §13): the
viewing geometry by hand, a view shows the side it faces, and the page's size and content."""

import numpy as np
import pytest

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
