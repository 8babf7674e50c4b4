"""The report page's surface views as a shaded mesh — docs/design.md §13 (predict.py --report,
where the mesh extra is installed; the node squares of report_page.render_view otherwise).

`render_mesh_view(mesh, view, up)`: an orthographic picture of mesh.la_mesh's triangles (world mm,
RAS) seen from the direction `view`: every triangle is sampled on a barycentric grid finer than
half a PIXEL_MM pixel and the nearest sample wins each pixel (a z-buffer, so the closed surface
hides its own back); a pixel is shaded by n . v (Lambert) with n the smoothed vertex normals
interpolated across the triangle (`vertex_normals`: the staircase of thick slices would otherwise
show as stripes), turned outward as a whole so that an affine that flips handedness changes
nothing; scar red where at least two of the triangle's three vertices carry projected scar, wall
grey otherwise; white where nothing is seen.
`screen_axes(view, up)` gives the screen's right and up in world coordinates.
Tests: tests/test_report_page.py
"""

from __future__ import annotations

import numpy as np

from .mesh import vertex_normals
from .overlay import COLOURS, hex_rgb

PIXEL_MM = 0.5  # the surface views' pixel
WALL_GREY = "#d0d0d0"


def screen_axes(view, up) -> tuple[np.ndarray, np.ndarray]:
    """(right, up) unit vectors of the screen for a viewer at direction `view` from the heart."""
    v, u = np.asarray(view, dtype=float), np.asarray(up, dtype=float)
    return np.cross(-v, u), u


def zbuffer(cell: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pixels, winners): for each pixel index in `cell`, the position of its largest `depth`."""
    order = np.lexsort((depth, cell))  # by pixel, nearest (largest depth) last
    last = np.r_[cell[order][1:] != cell[order][:-1], True]
    return cell[order][last], order[last]


def render_mesh_view(mesh, view, up) -> tuple[np.ndarray, tuple]:
    """An (H, W, 3) RGB picture of `mesh` seen from `view` and its extent in screen mm (left,
    right, bottom, top)."""
    right, up = screen_axes(view, up)
    view = np.asarray(view, dtype=float)
    tri = mesh.points[mesh.triangles]  # (T, 3, 3) world mm
    scar = mesh.scar[mesh.triangles].sum(axis=1) >= 2  # (T,)
    shade_v = vertex_normals(mesh.points, mesh.triangles) @ view  # (V,)
    edge = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2).max(axis=1) if len(tri) else []
    k = max(int(np.ceil(np.max(edge, initial=0.0) / (0.5 * PIXEL_MM))), 1)
    ij = np.array([(i, j) for i in range(k + 1) for j in range(k + 1 - i)], dtype=float) / k
    bary = np.c_[1.0 - ij.sum(axis=1), ij]  # (S, 3) barycentric samples
    samples = np.einsum("sc,tcd->tsd", bary, tri).reshape(-1, 3)  # (T * S, 3)
    owner = np.repeat(np.arange(len(tri)), len(bary))
    shade = (bary @ shade_v[mesh.triangles].T).T.reshape(-1)  # (T * S,) interpolated n . v
    xy = np.c_[samples @ right, samples @ up]  # (T * S, 2) screen mm
    lo = xy.min(axis=0) - PIXEL_MM if len(xy) else np.zeros(2)
    size = np.ceil(((xy.max(axis=0) + PIXEL_MM if len(xy) else np.ones(2)) - lo) / PIXEL_MM)
    size = size.astype(int)
    c = np.floor((xy - lo) / PIXEL_MM).astype(int)
    pixel, win = zbuffer(c[:, 1] * size[0] + c[:, 0], samples @ view)
    return paint(pixel, scar[owner[win]], shade[win], size, lo)


def paint(pixel, scar, shade, size, lo) -> tuple[np.ndarray, tuple]:
    """The (H, W, 3) picture of the z-buffer's winners: `pixel` flat indices into a size[0] x
    size[1] grid whose corner is `lo` (screen mm), scar red or wall grey, Lambert-shaded by
    n . v; white elsewhere. Returns it with its extent (left, right, bottom, top) in mm."""
    rgb = np.ones((size[1] * size[0], 3))
    colour = np.where(scar[:, None], hex_rgb(COLOURS["scar"]), hex_rgb(WALL_GREY))
    rgb[pixel] = colour * (0.45 + 0.55 * np.clip(shade, 0, 1))[:, None]
    extent = (lo[0], lo[0] + size[0] * PIXEL_MM, lo[1], lo[1] + size[1] * PIXEL_MM)
    return rgb.reshape(size[1], size[0], 3), extent
