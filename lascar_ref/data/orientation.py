"""Canonical orientation — docs/design.md §5.

Scans may be stored with their axes in any order and direction (RAS, LPS, LAS, ...). Training,
evaluation and prediction all work on the scan reoriented to RAS (nibabel's closest canonical
orientation: array axes pointing to the patient's Right, Anterior, Superior), with its spacing
permuted alike, and map outputs back to the stored orientation, so that a copy
stored in another orientation gets the same prediction in its own geometry.
Tests: tests/test_predict.py, tests/test_data_preprocess.py
"""

from __future__ import annotations

import numpy as np
from nibabel.orientations import apply_orientation, axcodes2ornt, io_orientation, ornt_transform

RAS = axcodes2ornt("RAS")


def to_ras(data: np.ndarray, affine: np.ndarray, spacing_mm) -> tuple[np.ndarray, tuple, list]:
    """(X, Y, Z) stored array -> (the array in RAS order, its spacing in mm, the stored
    orientation as a list for meta.json / from_ras)."""
    ornt = io_orientation(affine)  # per stored axis: (RAS axis, direction)
    ras = np.ascontiguousarray(apply_orientation(data, ornt_transform(ornt, RAS)))
    spacing = [0.0, 0.0, 0.0]
    for axis, (target, _) in enumerate(ornt):
        spacing[int(target)] = float(spacing_mm[axis])
    return ras, tuple(spacing), ornt.tolist()


def from_ras(data: np.ndarray, ornt: list) -> np.ndarray:
    """Inverse of to_ras: an array in RAS order -> the stored orientation `ornt`."""
    return np.ascontiguousarray(apply_orientation(data, ornt_transform(RAS, np.asarray(ornt))))
