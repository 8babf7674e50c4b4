"""Quality flags of a prediction on a new scan: when its numbers must not be believed —
docs/design.md §10 (new scans); paper §3.2 (the Eq. 6 wall band).

A scan's `qc` is a list of short reasons, empty when nothing is suspicious. Checked:
  input   a header pixdim that disagrees with the affine's voxel sizes (the affine is used); a
          (near-)constant image; a field of view smaller than a left atrium along some axis; a
          voxel spacing outside what LGE MRI uses; a thickest axis that is not the slice axis (Z)
          after RAS reorientation, so that the 2.5 mm target spacing would thin a fine axis;
  output  no LA; an LA volume outside the plausible range; an LA whose volume lies largely outside
          its largest piece; predicted scar far from the Eq. 6 wall band of the predicted LA;
  members the mean pairwise Dice of an ensemble's members, per structure, below a threshold;
  flips   for a structure one checkpoint gives alone (predict.py; --no-flip-check skips it), the
          mean pairwise Dice of its predictions under the identity and a flip of each axis
          (members.FLIP_CHECK), below a threshold;
  images  (input_stats.py) features of the normalised image far from the checkpoint's training
          images.
Every threshold is a named constant with its reason. predict.py writes the reasons into
summary.csv / summary.json (`qc`, ";"-separated) and `--strict` turns any of them into exit
status 1.
Tests: tests/test_qc.py
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import ndimage

from ..data.orientation import thick_axis

# Input. The relative spread below which an image carries no anatomy (a constant, zero or
# saturated volume; float noise of a constant stays far below it).
CONSTANT_RELATIVE_SPREAD = 1e-3  # (p99.5 - p0.5) / max(|p99.5|, |p0.5|, 1)
# The smallest left atrium spans about 35-40 mm in its shortest direction (an adult LA's
# anteroposterior diameter is 30-45 mm); a field of view under 40 mm cannot hold one.
MIN_FOV_MM = 40.0
# LGE MRI of the LA: in-plane 0.3-2.0 mm, slices 0.5-5.0 mm (the challenge data: 0.625 x 0.625 x
# 2.5 mm; isotropic 1-1.5 mm 3-D sequences; thick 2-D stacks up to 4-5 mm).
IN_PLANE_MM = (0.3, 2.0)
SLICE_MM = (0.5, 5.0)
# A thick axis must be the slice axis (Z after RAS reorientation), which the 2.5 mm target
# spacing assumes (data/orientation.thick_axis, its ANISOTROPY).
# The header's pixdim and the affine's voxel sizes should agree; a relative difference above
# this means one of them was edited by hand and the geometry is in doubt (we use the affine).
PIXDIM_TOLERANCE = 1e-3


def geometry_flags(spacing_mm, pixdim_mm) -> list[str]:
    """A flag when the header's pixdim disagrees with the affine's voxel sizes (spacing_mm)."""
    if pixdim_mm is None or all(
        abs(p - s) <= PIXDIM_TOLERANCE * s for p, s in zip(pixdim_mm, spacing_mm)
    ):
        return []
    shown = " x ".join(f"{p:g}" for p in pixdim_mm), " x ".join(f"{s:g}" for s in spacing_mm)
    return [f"pixdim {shown[0]} mm disagrees with the affine's {shown[1]} mm (affine used)"]


# Output. LA volume in ml: normal adult atria are 20-60 ml, real LGE scans of the 2018 LA
# challenge 32-126 ml (docs/design.md §7), dilated atria in atrial fibrillation up to about 200;
# outside 10-250 ml the segmentation, not the heart, is the likely cause.
LA_ML = (10.0, 250.0)
# An LA is one cavity (with its veins and appendage): more than this share of the predicted LA
# volume outside its largest connected piece means another chamber or vessel, or noise, was
# segmented as LA. A share, not a count of pieces: a model that segments the LA well still leaves
# small islands (bench/README.md: "LA in 3-4 pieces" fired on 4 of 12 in-distribution phantoms
# at LA Dice 0.70-0.88). Set before its rates were measured.
FRAGMENT_SHARE = 0.2
# Scar lies in the LA wall: predicted scar voxels more than FAR_MM from the predicted LA (twice
# the Eq. 6 band's 2.5 mm outer half-width plus a voxel of 2.5 mm slices) are far outside the
# band; flagged when they are more than this share of the predicted scar.
FAR_MM = 7.5
FAR_SCAR_SHARE = 0.25
# Ensemble members should agree on the LA (Dice of trained models against each other is far
# above their Dice against experts, ~0.9) and at least partly on scar (paper: scar Dice ~0.5
# against experts); below these, the members disagree about what the scan shows.
MIN_MEMBER_DICE = {"la": 0.8, "scar": 0.3}


def input_flags(ras: np.ndarray, ras_spacing) -> list[str]:
    """Flags of the RAS-ordered image (X, Y, Z) and its spacing in mm."""
    flags = []
    lo, hi = np.percentile(ras, [0.5, 99.5])
    if (hi - lo) / max(abs(hi), abs(lo), 1.0) < CONSTANT_RELATIVE_SPREAD:
        flags.append("constant image")
    fov = [n * s for n, s in zip(ras.shape, ras_spacing)]
    small = [f"{'XYZ'[a]} {fov[a]:.0f} mm" for a in range(3) if fov[a] < MIN_FOV_MM]
    if small:
        flags.append(f"field of view below {MIN_FOV_MM:.0f} mm ({', '.join(small)})")
    x, y, z = ras_spacing
    if not all(IN_PLANE_MM[0] <= s <= IN_PLANE_MM[1] for s in (x, y)) or not (
        SLICE_MM[0] <= z <= SLICE_MM[1]
    ):
        flags.append(f"spacing {x:g} x {y:g} x {z:g} mm outside LGE ranges")
    thick = thick_axis(ras_spacing)
    if thick is not None:
        flags.append(f"thickest axis is {'XYZ'[thick]}, not the slice axis Z")
    return flags


def output_flags(masks: dict[str, np.ndarray], spacing_mm) -> list[str]:
    """Flags of the predicted masks (structure -> (X, Y, Z) bool) on the scan's own grid."""
    if "la" not in masks:
        return []
    flags, la = [], masks["la"]
    voxel_ml = float(np.prod(spacing_mm)) / 1000.0
    volume = float(la.sum()) * voxel_ml
    if volume == 0:
        return ["no LA"]
    if not LA_ML[0] <= volume <= LA_ML[1]:
        flags.append(f"LA {volume:.1f} ml outside {LA_ML[0]:g}-{LA_ML[1]:g} ml")
    labelled, n = ndimage.label(la, structure=np.ones((3, 3, 3), dtype=bool))
    sizes = np.bincount(labelled.ravel())[1:]
    outside = 1.0 - float(sizes.max()) / float(sizes.sum())
    if outside > FRAGMENT_SHARE:
        flags.append(f"LA fragmented ({100 * outside:.0f}% outside its largest piece)")
    scar = masks.get("scar")
    if scar is not None and scar.any():
        far = ndimage.distance_transform_edt(~la, sampling=spacing_mm)[scar] > FAR_MM
        if far.mean() > FAR_SCAR_SHARE:
            flags.append(f"{100 * far.mean():.0f}% of scar over {FAR_MM:g} mm from the LA")
    return flags


def member_dice(members: list[np.ndarray]) -> float:
    """Mean pairwise Dice of the members' binary masks (NaN for fewer than two; 1.0 when a pair
    is empty in both)."""
    if len(members) < 2:
        return math.nan
    dices = []
    for a, b in itertools.combinations(members, 2):
        total = int(a.sum()) + int(b.sum())
        dices.append(1.0 if total == 0 else 2.0 * int(np.logical_and(a, b).sum()) / total)
    return float(np.mean(dices))


def member_flags(agreement: dict[str, float]) -> list[str]:
    """Flags of the members' mean pairwise Dice per structure (NaN: one member, nothing)."""
    return [
        f"members disagree on {name} (mean pairwise Dice {value:.2f})"
        for name, value in agreement.items()
        if not math.isnan(value) and value < MIN_MEMBER_DICE[name]
    ]


# One checkpoint's predictions of the same scan under flips of its input. Table 1 has no flips,
# so a flipped heart is new to the network (a left-right flip mirrors the anatomy). A checkpoint
# that records its own flip agreement on its fold's validation scans (training/flip_reference.py)
# is judged against that: flagged below FLIP_REL x its median there, a threshold that does not
# depend on how long it trained (set before its rates were measured). Older checkpoints keep the
# members' fixed thresholds, MIN_FLIP_DICE, and the flag says which rule fired. Rates on
# in-distribution scans and synthetic negatives: bench/README.md ("Out-of-distribution and flip
# flags").
MIN_FLIP_DICE = MIN_MEMBER_DICE
FLIP_REL = 0.8


def flip_flags(agreement: dict[str, float], reference: dict[str, float] | None = None) -> list[str]:
    """Flags of the flip passes' mean pairwise Dice per structure (NaN: not checked), against
    FLIP_REL x the checkpoint's own median (`reference`: structure -> median, from its
    "flip_reference") where it has one, else MIN_FLIP_DICE."""
    reference = reference or {}
    flags = []
    for name, value in agreement.items():
        if math.isnan(value):
            continue
        own = reference.get(name, math.nan)
        if not math.isnan(own):
            if value < FLIP_REL * own:
                flags.append(
                    f"flips disagree on {name} (mean pairwise Dice {value:.2f}, below "
                    f"{FLIP_REL:g} x {own:.2f} on the checkpoint's validation scans)"
                )
        elif value < MIN_FLIP_DICE[name]:
            flags.append(
                f"flips disagree on {name} (mean pairwise Dice {value:.2f}, below the fixed "
                f"{MIN_FLIP_DICE[name]:g}: the checkpoint records no reference)"
            )
    return flags
