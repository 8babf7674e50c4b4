"""The clinician's numbers of a prediction (lascar_ref/inference/scar_report.py; docs/design.md
§13): the Utah stage at its thresholds by hand, a flagged scan never staged clean, and the surface
burden of a sphere LA with a scar cap of known solid angle."""

import math

import numpy as np
import pytest

from lascar_ref.inference.scar_report import surface_burden_pct, utah_stage
from lascar_ref.inference.whole_scan import scan_summary


def test_utah_stage_at_its_thresholds():
    cases = [(0.0, "I"), (9.99, "I"), (10.0, "II"), (19.99, "II"), (20.0, "III"), (29.99, "III")]
    for burden, stage in cases + [(30.0, "IV"), (85.0, "IV")]:
        assert utah_stage(burden) == stage, burden
    assert utah_stage(math.nan) == ""
    assert utah_stage(12.0, flagged=True) == "II (qc flagged)"


def test_the_surface_burden_of_a_cap_is_its_solid_angle():
    n, radius = 52, 12.0
    g = np.stack(np.meshgrid(*[np.arange(n) - (n - 1) / 2] * 3, indexing="ij"), axis=-1)
    r = np.linalg.norm(g, axis=-1)
    la = r <= radius
    cap = (r >= radius - 1) & (r <= radius + 2) & (g[..., 0] / np.maximum(r, 1e-9) >= 0.5)
    assert surface_burden_pct(la, cap, (1.0, 1.0, 1.0)) == pytest.approx(25.0, abs=1.0)
    assert math.isnan(surface_burden_pct(np.zeros_like(la), cap, (1.0, 1.0, 1.0)))
    s = scan_summary({"la": la, "scar": cap}, (1.0, 1.0, 1.0))
    assert s["scar_surface_burden_pct"] == pytest.approx(25.0, abs=1.0)
    assert math.isnan(scan_summary({"la": la}, (1.0, 1.0, 1.0))["scar_surface_burden_pct"])
