"""The clinician's numbers of a prediction (lascar_ref/inference/scar_report.py; docs/design.md
§13): the Utah stage at its thresholds by hand, a flagged scan never staged clean, and the surface
burden of a sphere LA with a scar cap of known solid angle."""

import math

import numpy as np
import pytest

from lascar_ref.inference.scar_report import surface_map, surface_report, utah_stage
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
    one = (1.0, 1.0, 1.0)
    surface = surface_map(la, cap, np.eye(4), one)
    assert surface_report(surface)["scar_surface_burden_pct"] == pytest.approx(25.0, abs=1.0)
    radial = (surface.points - (n - 1) / 2) / radius  # the outward normal of a ball is radial
    assert np.median(np.sum(surface.normals * radial, axis=1)) > 0.95
    assert surface_map(np.zeros_like(la), cap, np.eye(4), one) is None
    assert all(math.isnan(v) for v in surface_report(None).values())
    s = scan_summary({"la": la, "scar": cap}, one, np.eye(4))
    assert s["scar_surface_burden_pct"] == pytest.approx(25.0, abs=1.0)
    # the 60-degree cap faces +x, the patient's right under this affine: most of it is septal,
    # its rim beyond 45 degrees falls evenly into the four neighbouring sectors, none lateral
    assert s["septal_share_pct"] > 60 and s["lateral_share_pct"] == 0
    rim = [s[f"{r}_share_pct"] for r in ("anterior", "posterior", "roof", "floor")]
    assert np.allclose(rim, (100 - s["septal_share_pct"]) / 4, atol=1.5)
    no_scar = scan_summary({"la": la}, one, np.eye(4))
    assert math.isnan(no_scar["scar_surface_burden_pct"]) and math.isnan(no_scar["roof_share_pct"])
