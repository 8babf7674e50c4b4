"""Segment new scans with one checkpoint or an ensemble — paper §4.2 (inference); docs/design.md
§6, §10.

For each scan: read and validate it (3-D, finite, positive spacing), reorient it to RAS, and let
the members predict it (members.py: resampled to each checkpoint's spacing, z-scored as in
training, whole-scan sliding window, back to the scan's grid); probabilities of several
checkpoints are averaged per structure (an ensemble), mapped back to the stored axis order and
thresholded at 0.5. Per scan: the members' spread and pairwise agreement, the quality flags of
qc.py, the input check against each checkpoint's training images (input_stats.py) and, on
request, the flip passes' agreement; LA and scar volume (ml) and scar burden =
|scar n wall| / |wall| in %, wall = the Eq. 6 band of the *predicted* LA, with the surface burden
and its regions (scar_report.py).
Tests: tests/test_predict.py, tests/test_input_stats.py
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.orientation import from_ras, to_ras
from ..losses import wall_mask
from .input_stats import ood_flags
from .members import Predictor, member_probs
from .qc import geometry_flags, input_flags, member_dice
from .scar_report import SurfaceMap, no_surface_report, surface_map, surface_report


@dataclass
class ScanPrediction:
    """What predict.py writes for one scan, in the scan's stored grid and axis order."""

    probs: dict[str, np.ndarray]  # structure -> ensemble mean probability (X, Y, Z)
    spread: dict[str, np.ndarray]  # structure -> members' std of the probability (X, Y, Z)
    agreement: dict[str, float]  # structure -> members' mean pairwise Dice (NaN: one member)
    input_qc: list[str]  # flags of the input (qc.input_flags, input_stats.ood_flags)
    input_check: str  # "passed", "flagged" or "unchecked: ..." (input_stats.py)
    flip_agreement: dict[str, float]  # structure -> mean pairwise Dice of the flip passes
    flip_reference: dict[str, float]  # structure -> its checkpoint's median on validation scans


def predict_scan(
    scan,
    predictors: list[Predictor],
    device,
    mirror=False,
    sw_batch_size: int = 2,
    flip_check: bool = False,
) -> ScanPrediction:
    """A read scan (nifti_io.Volume) -> its prediction on its stored grid: reoriented to RAS for
    inference (as in training), mapped back to the stored axis order; with the members' spread
    and agreement, the input's quality flags (qc.py) and its check against each checkpoint's
    training images (input_stats.py), and with `flip_check` the agreement of the flip passes of
    a structure that one checkpoint gives alone."""
    ras, ras_spacing, ornt = to_ras(scan.data, scan.affine, scan.spacing_mm)
    members = member_probs(ras, ras_spacing, predictors, device, mirror, sw_batch_size, flip_check)
    ood, unchecked = [], []
    for p, feats in zip(predictors, members.features):
        if p.input_stats is None:
            unchecked.append(p.name)
        else:
            ood += [f for f in ood_flags(feats, p.input_stats) if f not in ood]
    status = "flagged" if ood else "passed"  # a flag of any checkpoint is in input_qc
    if unchecked:
        status = f"unchecked: no training-image statistics in {', '.join(unchecked)}"
    return ScanPrediction(
        probs={
            n: from_ras(np.mean(m, axis=0).astype(np.float32), ornt)
            for n, m in members.probs.items()
        },
        spread={
            n: from_ras(np.std(m, axis=0).astype(np.float32), ornt)
            for n, m in members.probs.items()
        },
        agreement={n: member_dice([p > 0.5 for p in m]) for n, m in members.probs.items()},
        input_qc=geometry_flags(scan.spacing_mm, scan.pixdim_mm)
        + input_flags(ras, ras_spacing)
        + ood,
        input_check=status,
        flip_agreement={n: member_dice(m) for n, m in members.flips.items()},
        flip_reference=dict(members.flip_reference),
    )


def scan_surface(masks: dict[str, np.ndarray], spacing_mm, affine) -> SurfaceMap | None:
    """The predicted scar (none without a scar prediction) on the predicted LA's surface nodes,
    through the scan's (4, 4) affine (scar_report.surface_map); None without an LA."""
    la = masks.get("la")
    if la is None or not la.any():
        return None
    return surface_map(la, masks.get("scar", np.zeros_like(la)), affine, spacing_mm)


def scan_summary(
    masks: dict[str, np.ndarray], spacing_mm, affine, surface: SurfaceMap | None = None
) -> dict[str, float]:
    """LA and scar volume (ml), scar burden (%) = 100 |scar n wall| / |wall|, wall = Eq. 6 band
    of the predicted LA (NaN without an LA or a scar prediction, or with an empty band), and the
    scar burden on the predicted LA's surface with its regional split (%, scar_report.
    surface_report of `surface`, computed by scan_surface when not given)."""
    voxel_ml = float(np.prod(spacing_mm)) / 1000.0
    out = {
        f"{k}_volume_ml": float(masks[k].sum()) * voxel_ml if k in masks else float("nan")
        for k in ("la", "scar")
    }
    out["scar_burden_pct"] = float("nan")
    out.update(no_surface_report())
    if "la" in masks and "scar" in masks:
        given = surface if surface is not None else scan_surface(masks, spacing_mm, affine)
        out.update(surface_report(given))
        wall = wall_mask(masks["la"], spacing_mm)
        if wall.any():
            out["scar_burden_pct"] = (
                100.0 * float(np.logical_and(masks["scar"], wall).sum()) / float(wall.sum())
            )
    return out
