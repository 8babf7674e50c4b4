"""One page per scan for a clinician: slices, the scar map on the LA surface, burden, stage,
regions and quality flags — docs/design.md §13 (predict.py --report; optional `viz` extra).

The page (PAGE_INCHES at overlay.DPI), top to bottom:
  1. axial, coronal and sagittal slices through the predicted LA (overlay.py: the LA as a
     contour, scar filled), the image reoriented to RAS;
  2. the scar map on the LA surface seen from VIEWS: anterior, posterior, left, right, superior,
     each an orthographic projection in world mm. Where the mesh extra is installed, the
     surface is the shaded mesh of mesh.la_mesh (the --mesh surface; mesh_view.py); without it,
     the surface nodes (scar_report.SurfaceMap): a node is drawn when its outward normal faces
     the viewer (n . v > 0, `visible`), as a square of the largest voxel size, the nearest node
     winning each pixel, shaded by n . v, wall grey, scar red (`render_view`). The screen's left
     and right edges are labelled with the patient's direction they point to (an anterior view
     has the patient's right on the left, as the radiological convention);
  3. the regional burden (scar_regions.py: % of each region's area, its share of all scar
     written on the bar) and a text block: volumes, the Eq. 6 band and surface burdens, the Utah
     stage, the input check against the training images, the quality flags (or "none"), and
     the caveat that the regions are landmark-free.
Tests: tests/test_report_page.py
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .mesh_view import PIXEL_MM, paint, render_mesh_view, screen_axes, zbuffer
from .overlay import (
    COLOURS,
    DPI,
    PLANES,
    centre_of,
    draw,
    plane,
    require_matplotlib,
    save_figure,
)
from .scar_regions import REGIONS

PAGE_INCHES = (12.0, 8.5)
# (name, the direction from the heart to the viewer, the screen's up), world RAS
VIEWS = (
    ("anterior", (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    ("posterior", (0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
    ("left", (-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    ("right", (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    ("superior", (0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
)
LETTERS = ("R", "A", "S")  # the +direction of each RAS axis; "L", "P", "I" for the -direction


def visible(normals: np.ndarray, view) -> np.ndarray:
    """(N,) bool: the nodes whose outward normal (N, 3) faces a viewer at direction `view`."""
    return np.asarray(normals) @ np.asarray(view, dtype=float) > 0


def direction_letter(vector) -> str:
    """The patient's direction ("R", "L", "A", "P", "S", "I") closest to a world vector."""
    axis = int(np.argmax(np.abs(vector)))
    return LETTERS[axis] if vector[axis] > 0 else "LPI"[axis]


def render_view(surface, view, up, spacing_mm) -> tuple[np.ndarray, tuple]:
    """An (H, W, 3) RGB picture of the surface map seen from `view`, with its extent in screen mm
    (left, right, bottom, top): each visible node covers a square of the largest voxel size, the
    nearest node wins each PIXEL_MM pixel (a z-buffer), shaded by n . v (Lambert), wall grey, scar
    red; white where no node is seen."""
    right, up = screen_axes(view, up)
    view = np.asarray(view, dtype=float)
    keep = visible(surface.normals, view)
    pts, hit, shade = surface.points[keep], surface.hit[keep], surface.normals[keep] @ view
    xy = np.c_[pts @ right, pts @ up]  # (n, 2) screen mm
    half = 0.5 * max(spacing_mm)
    lo = xy.min(axis=0) - half if len(xy) else np.zeros(2)
    size = np.ceil(((xy.max(axis=0) + half if len(xy) else np.ones(2)) - lo) / PIXEL_MM).astype(int)
    reach = int(np.ceil(half / PIXEL_MM))
    cells, depths, owners = [], [], []
    base = np.floor((xy - lo) / PIXEL_MM).astype(int)
    for dx in range(-reach, reach + 1):
        for dy in range(-reach, reach + 1):
            c = base + (dx, dy)
            ok = np.all((c >= 0) & (c < size), axis=1)
            cells.append(c[ok, 1] * size[0] + c[ok, 0])
            depths.append((pts @ view)[ok])
            owners.append(np.flatnonzero(ok))
    cell, depth, owner = (np.concatenate(v) for v in (cells, depths, owners))
    pixel, win = zbuffer(cell, depth)
    node = owner[win]
    return paint(pixel, hit[node].astype(bool), shade[node], size, lo)


def draw_view(ax, surface, name: str, view, up, spacing_mm, mesh=None) -> None:
    """One orthographic view of the scar map (module docstring), its edges lettered: the shaded
    `mesh` where one is given, else the surface nodes."""
    if mesh is not None:
        picture, extent = render_mesh_view(mesh, view, up)
    else:
        picture, extent = render_view(surface, view, up, spacing_mm)
    ax.imshow(picture, origin="lower", extent=extent, interpolation="nearest")
    ax.axis("off")
    ax.set_title(name, fontsize=8)
    right = screen_axes(view, up)[0]
    ax.text(0.0, 0.5, direction_letter(-right), transform=ax.transAxes, fontsize=7, ha="right",
            va="center")  # fmt: skip
    ax.text(1.0, 0.5, direction_letter(right), transform=ax.transAxes, fontsize=7, ha="left",
            va="center")  # fmt: skip


def _number(value, fmt: str) -> str:
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    return "n/a" if missing else fmt % value


def summary_lines(row: dict) -> list[str]:
    """The text block of the page from a summary row of predict.py."""
    return [
        f"scan: {row['scan']}",
        f"LA volume: {_number(row['la_volume_ml'], '%.1f ml')}",
        f"scar volume: {_number(row['scar_volume_ml'], '%.2f ml')}",
        f"scar burden, Eq. 6 wall band: {_number(row['scar_burden_pct'], '%.1f%%')}",
        f"scar burden, LA surface: {_number(row['scar_surface_burden_pct'], '%.1f%%')}",
        f"Utah stage (I <10%, II <20%, III <30%, IV): {row['utah_stage'] or 'n/a'}",
        f"input check: {row.get('input_check') or 'n/a'}",
        f"quality flags: {row['qc'] or 'none'}",
        "regions: by direction from the LA centroid (RAS),",
        "landmark-free, not a clinical segmentation",
    ]


def report_page(image, masks: dict, spacing_mm, surface, row: dict, path: Path, mesh=None) -> Path:
    """Write the page for one scan: `image` (X, Y, Z) and `masks` in RAS order with their spacing,
    the surface map (None without an LA), predict.py's summary row, and the LA mesh (mesh.la_mesh,
    world mm) to draw the views with, where the mesh extra made one."""
    plt = require_matplotlib()
    fig = plt.figure(figsize=PAGE_INCHES, dpi=DPI)
    grid = fig.add_gridspec(3, 15, height_ratios=(1.0, 1.0, 0.8), hspace=0.3, wspace=0.6)
    fig.subplots_adjust(left=0.05, right=0.98, top=0.93, bottom=0.06)
    centre = centre_of(masks.get("la"), image.shape)
    for i, (name, axis) in enumerate(PLANES):
        ax = fig.add_subplot(grid[0, 5 * i : 5 * i + 5])
        keep = [a for a in range(3) if a != axis]
        overlays = [(plane(m, axis, centre[axis]), k, "contour" if k == "la" else "fill")
                    for k, m in masks.items()]  # fmt: skip
        draw(ax, plane(image, axis, centre[axis]), [spacing_mm[k] for k in keep], overlays, name)
    for i, (name, view, up) in enumerate(VIEWS):
        ax = fig.add_subplot(grid[1, 3 * i : 3 * i + 3])
        if surface is None:
            ax.axis("off")
            ax.set_title(f"{name}: no LA", fontsize=8)
        else:
            draw_view(ax, surface, name, view, up, spacing_mm, mesh)
    bars = fig.add_subplot(grid[2, 0:8])
    burden = [row.get(f"{r}_burden_pct", math.nan) for r in REGIONS]
    share = [row.get(f"{r}_share_pct", math.nan) for r in REGIONS]
    heights = [0.0 if b is None or math.isnan(b) else b for b in burden]
    bars.bar(REGIONS, heights, color=COLOURS["scar"])
    for x, (h, sh) in enumerate(zip(heights, share)):
        bars.text(x, h, f"share {_number(sh, '%.0f%%')}", ha="center", va="bottom", fontsize=7)
    bars.set_ylabel("scar burden of the region (%)", fontsize=8)
    bars.set_ylim(0, max(100.0 if max(heights) > 80 else max(heights) * 1.25, 10.0))
    bars.tick_params(labelsize=7)
    text = fig.add_subplot(grid[2, 9:15])
    text.axis("off")
    text.text(0, 1, "\n".join(summary_lines(row)), va="top", fontsize=8, family="monospace",
              wrap=True)  # fmt: skip
    fig.suptitle(f"{row['scan']}: LA scar report (lascar_ref)", fontsize=10)
    return save_figure(fig, path)
