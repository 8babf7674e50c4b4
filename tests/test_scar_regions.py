"""The six landmark-free wall regions (lascar_ref/inference/scar_regions.py; docs/design.md §13):
each direction by hand, the regional counts by hand, the same regions for a scan stored in
another orientation, and phantoms whose affine puts their anatomy where a real scan has it."""

import math

import numpy as np
import pytest
from nibabel.orientations import aff2axcodes

from lascar_ref.data.phantom import affine_for
from lascar_ref.data.phantom_anatomy import make_anatomy
from lascar_ref.inference.scar_regions import REGIONS, region_of, regional_burden, to_world
from lascar_ref.inference.whole_scan import scan_summary


def test_each_direction_and_a_tie_by_hand():
    axes = [(0, 1, 0), (0, -1, 0), (1, 0, 0), (-1, 0, 0), (0, 0, 1), (0, 0, -1)]
    assert [REGIONS[i] for i in region_of(np.array(axes))] == list(REGIONS)
    assert REGIONS[region_of(np.array([[0.6, -0.8, 0.1]]))[0]] == "posterior"
    assert REGIONS[region_of(np.array([[-0.3, 0.2, -0.5]]))[0]] == "floor"
    assert REGIONS[region_of(np.array([[1.0, 1.0, 0.0]]))[0]] == "anterior"  # tie: earlier


def test_regional_burden_and_share_by_hand():
    regions = np.array([0, 0, 1, 2, 2, 2])  # 2 anterior, 1 posterior, 3 septal nodes
    hit = np.array([1, 0, 0, 1, 1, 0], dtype=bool)  # 3 scar nodes
    out = regional_burden(regions, hit)
    assert out["anterior_burden_pct"] == pytest.approx(50.0)
    assert out["anterior_share_pct"] == pytest.approx(100 / 3)
    assert out["posterior_burden_pct"] == 0.0 and out["posterior_share_pct"] == 0.0
    assert out["septal_burden_pct"] == pytest.approx(200 / 3)
    assert out["septal_share_pct"] == pytest.approx(200 / 3)
    assert math.isnan(out["lateral_burden_pct"]) and out["lateral_share_pct"] == 0.0
    none = regional_burden(regions, np.zeros(6, dtype=bool))
    assert none["septal_burden_pct"] == 0.0 and math.isnan(none["septal_share_pct"])


def sphere_with_posterior_cap(n=40, radius=12.0):
    """A ball LA (1 mm voxels) and a wall cap whose direction is -y in index space."""
    g = np.stack(np.meshgrid(*[np.arange(n) - (n - 1) / 2] * 3, indexing="ij"), axis=-1)
    r = np.linalg.norm(g, axis=-1)
    cap = (r >= radius - 1) & (r <= radius + 2) & (-g[..., 1] / np.maximum(r, 1e-9) >= 0.7)
    return r <= radius, cap


def test_the_regions_follow_the_patient_not_the_array():
    la, cap = sphere_with_posterior_cap()
    ras = scan_summary({"la": la, "scar": cap}, (1.0, 1.0, 1.0), np.eye(4))
    assert ras["posterior_share_pct"] == pytest.approx(100.0)
    assert ras["anterior_share_pct"] == 0.0
    assert 0 < ras["posterior_burden_pct"] < 100 and ras["roof_burden_pct"] == 0.0
    # the same scan stored LPS (both in-plane axes flipped, the affine saying so): same anatomy
    lps = np.diag([-1.0, -1.0, 1.0, 1.0])
    lps[:2, 3] = la.shape[0] - 1
    flipped = {"la": la[::-1, ::-1].copy(), "scar": cap[::-1, ::-1].copy()}
    assert scan_summary(flipped, (1.0, 1.0, 1.0), lps) == pytest.approx(ras, nan_ok=True)
    # read as if the array's -y were the patient's right (a wrong affine), it becomes septal
    wrong = np.array([[0.0, -1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    assert scan_summary({"la": la, "scar": cap}, (1.0, 1.0, 1.0), wrong)[
        "septal_share_pct"
    ] == pytest.approx(100.0)


def test_the_phantom_affine_puts_its_anatomy_where_a_heart_has_it():
    shape, spacing = (96, 96, 24), (1.25, 1.25, 2.5)
    affine = affine_for(shape, spacing)
    assert aff2axcodes(affine) == ("A", "L", "S")
    centre = to_world(((np.array(shape) - 1) / 2)[None], affine)[0]
    assert np.allclose(centre, 0.0)  # the volume's centre at the world origin
    a = make_anatomy(np.random.default_rng(5), shape, spacing)

    def world_centroid(mask):
        return to_world(np.argwhere(mask).mean(axis=0)[None], affine)[0]

    la = world_centroid(a["la"])
    lv = world_centroid(a["myo"]) - la  # the nulled LV myocardium surrounds the LV
    veins = world_centroid(a["la_blood"] & ~a["la"]) - la  # the unlabelled vein segments
    # RAS: x patient's right, y anterior, z superior
    assert lv[1] > 0 and lv[0] < 0 and lv[2] < 0  # the LV: anterior, left, inferior
    assert veins[1] < 0  # the pulmonary veins leave the posterior LA
