"""What predict.py writes for its scans: the label maps, the pictures and the summary files —
paper §4.2 (inference); docs/design.md §10, §13.

`write_maps` writes {scan}_{structure}.nii.gz (uint8) and the optional probability and spread
maps in the scan's original geometry and header; `figure` (--figures) and `report` (--report)
draw one scan, reoriented to RAS, through overlay.py and report_page.py (viz extra);
`write_summary` writes summary.csv and summary.json (NaN as an empty JSON value), with the
definitions of the burdens, the Utah stage and the regions beside the rows.
Tests: tests/test_predict.py, tests/test_report_page.py
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from ..data import write_volume
from ..data.orientation import to_ras
from .overlay import scan_figure
from .report_page import report_page
from .scar_report import REPORT_KEYS

SUMMARY_KEYS = (
    ["scan", "path", "la_volume_ml", "scar_volume_ml", "scar_burden_pct"]
    + ["scar_surface_burden_pct", "utah_stage", *REPORT_KEYS[1:]]
    + ["member_dice_la", "member_dice_scar", "flip_dice_la", "flip_dice_scar"]
    + ["input_check", "qc", "postprocess"]
)
DEFINITIONS = {
    "burden_wall": "predicted LA, Eq. 6",
    "surface_burden": "predicted scar projected onto the predicted LA surface, % of its area"
    " (each node weighted by the mm^2 it stands for)",
    "utah_stage": "Marrouche et al. 2014: I < 10%, II < 20%, III < 30%, IV >= 30%",
    "regions": "surface nodes by direction from the LA centroid in RAS, landmark-free:"
    " {region}_burden_pct = area of the region's scar nodes / area of its nodes,"
    " {region}_share_pct = area of the region's scar nodes / area of all scar nodes, each node"
    " weighted by the mm^2 it stands for (inference/scar_regions.py)",
}


def write_maps(out: Path, name: str, scan, images: dict[str, np.ndarray]) -> None:
    """OUT/{name}_{suffix}.nii.gz for every image (X, Y, Z), in the scan's affine and header."""
    for suffix, data in images.items():
        write_volume(out / f"{name}_{suffix}.nii.gz", data, scan.affine, scan.header)


def ras_views(scan, masks: dict) -> tuple[np.ndarray, dict, tuple]:
    """The image (float32) and the masks reoriented to RAS, and the RAS spacing in mm."""
    ras, spacing, _ = to_ras(scan.data, scan.affine, scan.spacing_mm)
    ras_masks = {k: to_ras(m, scan.affine, scan.spacing_mm)[0] for k, m in masks.items()}
    return ras.astype(np.float32), ras_masks, spacing


def figure(path: Path, scan, masks: dict, row: dict) -> Path:
    """Three orthogonal slices through the predicted LA in RAS orientation, the volumes and the
    qc in the title (overlay.py)."""
    ras, ras_masks, spacing = ras_views(scan, masks)
    numbers = ", ".join(
        f"{label} {row[key]:.1f}{unit}"
        for label, key, unit in (
            ("LA", "la_volume_ml", " ml"),
            ("scar", "scar_volume_ml", " ml"),
            ("burden", "scar_burden_pct", "%"),
        )
        if not math.isnan(row[key])
    )
    title = f"{row['scan']}: {numbers}" + (f"\nqc: {row['qc']}" if row["qc"] else "")
    return scan_figure(ras, ras_masks, spacing, title, path)


def report(path: Path, scan, masks: dict, surface, row: dict, mesh=None) -> Path:
    """The scan's report page (report_page.py): slices in RAS, the surface map
    (whole_scan.scan_surface, world mm through the scan's affine), drawn as the shaded `mesh`
    where one is given (mesh.la_mesh)."""
    ras, ras_masks, spacing = ras_views(scan, masks)
    return report_page(ras, ras_masks, spacing, surface, row, path, mesh=mesh)


def write_summary(rows: list[dict], out: Path) -> None:
    """OUT/summary.csv (SUMMARY_KEYS) and OUT/summary.json (the rows and DEFINITIONS)."""
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=SUMMARY_KEYS)
        w.writeheader()
        w.writerows(rows)
    clean = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in rows
    ]
    (out / "summary.json").write_text(json.dumps({"scans": clean, **DEFINITIONS}, indent=1))
