"""Postprocessing candidates of a predicted mask, chosen on the validation folds as nnU-Net does
— docs/design.md §10 (the paper does not postprocess; this is ours).

  la    none | largest_component  keep the largest 26-connected component of the LA
  scar  none | near_la            keep scar voxels within NEAR_LA_MM of the predicted LA
evaluation/postprocess_choice.py scores the candidates on every fold's validation cases and
keeps one only when it does not lower the mean Dice; predict.py applies the stored choice.
Tests: tests/test_postprocess.py
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

# The Eq. 6 band reaches 2.5 mm outside the LA; scar further than twice that from the predicted
# LA cannot be wall, whatever the band's exact edge on a given grid.
NEAR_LA_MM = 5.0
CANDIDATES = {"la": ("none", "largest_component"), "scar": ("none", "near_la")}


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 26-connected component of a binary (X, Y, Z) mask (empty stays empty)."""
    labelled, n = ndimage.label(mask, structure=np.ones((3, 3, 3), dtype=bool))
    if n <= 1:
        return np.asarray(mask, dtype=bool)
    sizes = np.bincount(labelled.ravel())[1:]
    return labelled == (int(np.argmax(sizes)) + 1)


def near_la(scar: np.ndarray, la: np.ndarray, spacing_mm, reach_mm: float = NEAR_LA_MM):
    """Scar voxels within reach_mm (Euclidean, voxel centres) of the predicted LA; all scar is
    dropped when there is no LA."""
    if not la.any():
        return np.zeros_like(scar, dtype=bool)
    return scar & (ndimage.distance_transform_edt(~la, sampling=spacing_mm) <= reach_mm)


def apply(masks: dict[str, np.ndarray], choice: dict[str, str], spacing_mm) -> dict:
    """The masks with the chosen candidate per structure applied (LA first: scar's candidate
    uses the postprocessed LA). A structure without a mask, or "none", is unchanged."""
    out = dict(masks)
    if choice.get("la") == "largest_component" and "la" in out:
        out["la"] = largest_component(out["la"])
    if choice.get("scar") == "near_la" and "scar" in out and "la" in out:
        out["scar"] = near_la(out["scar"], out["la"], spacing_mm)
    return out
