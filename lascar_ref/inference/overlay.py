"""Pictures to check a segmentation by eye: contours and fills over the LGE image —
docs/design.md §10 (new scans), paper Fig. 3 (evaluation/figures.py draws its panels with these).

Optional: needs matplotlib (`pip install -e '.[viz]'`); without it `require_matplotlib` raises a
one-line ImportError saying so. A panel is the image slice in grey, in mm (the voxel spacing sets
the aspect, so 2.5 mm slices are not squashed), with masks drawn over it: the LA as a contour
line, scar as a translucent fill, each in a fixed colour. `scan_figure` draws three orthogonal
slices (axial, coronal, sagittal) through the predicted LA's centre for predict.py --figures.
Tests: tests/test_figures.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PANEL_INCHES, DPI = 2.5, 100  # each panel is 250 x 250 pixels
COLOURS = {"la": "#2ca02c", "la_gt": "#1f77b4", "scar": "#d62728", "scar_gt": "#ff7f0e"}
PLANES = (("axial", 2), ("coronal", 1), ("sagittal", 0))  # (name, the axis held fixed)


def require_matplotlib():
    """matplotlib.pyplot with the non-interactive Agg backend, or a one-line ImportError."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("figures need matplotlib: pip install -e '.[viz]'") from None
    return plt


def centre_of(mask: np.ndarray | None, shape) -> tuple[int, int, int]:
    """The voxel nearest the centre of mass of `mask` (X, Y, Z), or the volume centre."""
    if mask is None or not mask.any():
        return tuple(n // 2 for n in shape)
    return tuple(int(round(float(c.mean()))) for c in np.nonzero(mask))


def plane(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    """The 2-D slice of (X, Y, Z) `volume` at `index` along `axis`, rows = the first remaining
    axis (displayed transposed, origin lower)."""
    return np.take(volume, index, axis=axis)


def draw(ax, image: np.ndarray, spacing2d, overlays=(), title: str = "") -> None:
    """One panel: `image` (A, B) in grey with extent in mm; overlays = [(mask (A, B), key,
    "contour" or "fill")], key in COLOURS."""
    extent = (0, image.shape[0] * spacing2d[0], 0, image.shape[1] * spacing2d[1])
    lo, hi = np.percentile(image, [1, 99]) if image.size else (0, 1)
    ax.imshow(image.T, cmap="gray", origin="lower", extent=extent, vmin=lo, vmax=max(hi, lo + 1e-6))
    for mask, key, kind in overlays:
        m = np.asarray(mask, dtype=float).T
        if not m.any():
            continue
        if kind == "contour":
            ax.contour(m, levels=[0.5], colors=COLOURS[key], linewidths=1.0, origin="lower",
                       extent=extent)  # fmt: skip
        else:
            rgba = np.zeros((*m.shape, 4))
            rgba[..., :3] = hex_rgb(COLOURS[key])
            rgba[..., 3] = 0.8 * m
            ax.imshow(rgba, origin="lower", extent=extent, interpolation="nearest")
    ax.set_title(title, fontsize=7)
    ax.axis("off")


def hex_rgb(hex_colour: str) -> tuple[float, float, float]:
    """ "#rrggbb" -> (r, g, b) in [0, 1]."""
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))


def save_figure(fig, path: Path) -> Path:
    """Write the figure to `path` (parents created) at DPI and close it."""
    plt = require_matplotlib()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def scan_figure(
    image: np.ndarray, masks: dict[str, np.ndarray], spacing_mm, title: str, path: Path
) -> Path:
    """predict.py --figures: axial, coronal and sagittal slices through the predicted LA's centre
    of an RAS-ordered image (X, Y, Z) and masks, the LA as a contour, scar filled; `title` above
    (volumes, qc)."""
    plt = require_matplotlib()
    centre = centre_of(masks.get("la"), image.shape)
    fig, axes = plt.subplots(1, 3, figsize=(3 * PANEL_INCHES, PANEL_INCHES + 0.4), dpi=DPI)
    for ax, (name, axis) in zip(axes, PLANES):
        keep = [a for a in range(3) if a != axis]
        overlays = [(plane(m, axis, centre[axis]), k, "contour" if k == "la" else "fill")
                    for k, m in masks.items()]  # fmt: skip
        spacing2d = (spacing_mm[keep[0]], spacing_mm[keep[1]])
        draw(ax, plane(image, axis, centre[axis]), spacing2d, overlays, name)
    fig.suptitle(title, fontsize=7, wrap=True)
    return save_figure(fig, path)
