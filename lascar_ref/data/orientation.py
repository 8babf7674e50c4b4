"""Canonical orientation — docs/design.md §5.

Scans may be stored with their axes in any order and direction (RAS, LPS, LAS, ...). Training,
evaluation and prediction all work on the scan reoriented to RAS (nibabel's closest canonical
orientation: array axes pointing to the patient's Right, Anterior, Superior), with its spacing
permuted alike, and map outputs back to the stored orientation, so that a copy
stored in another orientation gets the same prediction in its own geometry.
The training grid (2.5 mm along Z) assumes the thickest axis is the slice axis Z after
reorientation. A sagittal or coronal stack (thickest axis X or Y) is resampled like an axial one,
with its thick axis made fine and Z made thick; that is not handled, only said: `thick_axis_note`
gives the one line that `python -m lascar_ref.data check`, the start of training and predict.py's
flags print, naming the file (docs/design.md §5).
Tests: tests/test_predict.py, tests/test_data_preprocess.py
"""

from __future__ import annotations

import numpy as np
from nibabel.orientations import apply_orientation, axcodes2ornt, io_orientation, ornt_transform

RAS = axcodes2ornt("RAS")
# A scan is anisotropic when its thickest axis is this much thicker than its finest one; then
# the thickest axis must be the slice axis (Z after RAS reorientation).
ANISOTROPY = 1.5


def ras_spacing(affine: np.ndarray, spacing_mm) -> tuple[float, float, float]:
    """The stored spacing (one per array axis) permuted to the RAS axes of to_ras."""
    out = [0.0, 0.0, 0.0]
    for axis, (target, _) in enumerate(io_orientation(affine)):
        out[int(target)] = float(spacing_mm[axis])
    return tuple(out)


def thick_axis(spacing_ras) -> int | None:
    """The RAS axis (0 or 1) of an anisotropic scan's thickest axis when it is not the slice
    axis Z, else None (an axial or near-isotropic scan)."""
    thick = int(np.argmax(spacing_ras))
    if thick == 2 or max(spacing_ras) <= ANISOTROPY * min(spacing_ras):
        return None
    return thick


def thick_axis_note(spacing_ras) -> str | None:
    """None for an axial (or isotropic) scan, else the line that says a thick axis is not the
    slice axis: "thickest axis after reorientation to RAS is X (2.50 mm against 0.62 mm), not
    the slice axis Z (a sagittal or coronal stack?): resampled like an axial scan"."""
    thick = thick_axis(spacing_ras)
    if thick is None:
        return None
    return (
        f"thickest axis after reorientation to RAS is {'XYZ'[thick]} "
        f"({max(spacing_ras):.2f} mm against {min(spacing_ras):.2f} mm), not the slice axis Z "
        "(a sagittal or coronal stack?): resampled like an axial scan"
    )


def to_ras(data: np.ndarray, affine: np.ndarray, spacing_mm) -> tuple[np.ndarray, tuple, list]:
    """(X, Y, Z) stored array -> (the array in RAS order, its spacing in mm, the stored
    orientation as a list for meta.json / from_ras)."""
    ornt = io_orientation(affine)  # per stored axis: (RAS axis, direction)
    ras = np.ascontiguousarray(apply_orientation(data, ornt_transform(ornt, RAS)))
    return ras, ras_spacing(affine, spacing_mm), ornt.tolist()


def from_ras(data: np.ndarray, ornt: list) -> np.ndarray:
    """Inverse of to_ras: an array in RAS order -> the stored orientation `ornt`."""
    return np.ascontiguousarray(apply_orientation(data, ornt_transform(RAS, np.asarray(ornt))))
