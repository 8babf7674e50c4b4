"""What a clinician reads of a scar prediction: burden on the LA surface and the Utah stage —
docs/design.md §13; the LAScarQS protocol's projection (surface_projection.py) on a new scan.

  scar_surface_burden_pct = 100 x the share of the *predicted* LA's surface nodes whose probe
                            (0.5 mm steps, up to 10 mm along the normal, both ways) meets
                            predicted scar: the challenge's projection, with the predicted LA in
                            place of a ground truth (a new scan has none); node-weighted
                            (surface.py's docstring says what that means on 2.5 mm slices)
  utah_stage              = the Utah / DECAAF stage of that burden (Marrouche et al., JAMA 2014:
                            I < 10%, II 10 - < 20%, III 20 - < 30%, IV >= 30%); "" without a
                            burden; "(qc flagged)" is appended when the scan carries a quality
                            flag, so a stage is never reported as clean on a flagged scan
Deviation: DECAAF measured enhancement in a manually segmented wall volume with its own
intensity threshold; this stages the predicted scar on the predicted surface, an approximation
to be read beside the Eq. 6 band burden (scar_burden_pct), not a clinical measurement.
Tests: tests/test_scar_report.py
"""

from __future__ import annotations

import math

import numpy as np

from .surface_projection import project_onto_surface

UTAH = ((10.0, "I"), (20.0, "II"), (30.0, "III"))  # upper bounds (exclusive); IV from 30%


def surface_burden_pct(la: np.ndarray, scar: np.ndarray, spacing_mm) -> float:
    """100 x the share of the LA's surface nodes onto which `scar` projects; NaN without an LA."""
    (hit,) = project_onto_surface(la, [scar], spacing_mm)
    return 100.0 * float(hit.mean()) if hit.size else math.nan


def utah_stage(burden_pct: float, flagged: bool = False) -> str:
    """ "I" ... "IV" for a burden in %, "" for NaN; " (qc flagged)" appended when flagged."""
    if math.isnan(burden_pct):
        return ""
    stage = next((name for bound, name in UTAH if burden_pct < bound), "IV")
    return stage + (" (qc flagged)" if flagged else "")
