"""Metrics (lascar_ref/evaluation/metrics.py, docs/design.md §6)
on shapes with known answers and against MONAI."""

import math

import numpy as np
import pytest

from lascar_ref.evaluation.metrics import border, case_metrics, diagonal_mm, scar_burden, summarize


def ball(shape, centre, radius_mm, spacing):
    grids = np.meshgrid(
        *[(np.arange(n) - c) * s for n, c, s in zip(shape, centre, spacing)], indexing="ij"
    )
    return sum(g**2 for g in grids) <= radius_mm**2


def test_concentric_balls_hd_is_radius_difference():
    spacing = (1.0, 1.0, 1.0)
    a = ball((41, 41, 41), (20, 20, 20), 12.0, spacing)
    b = ball((41, 41, 41), (20, 20, 20), 8.0, spacing)
    m = case_metrics(a, b, spacing)
    # outermost border voxels on the axes: (12, 0, 0) and (8, 0, 0) -> 4 mm
    assert m["hd"] == pytest.approx(4.0, abs=0.5)
    assert m["dice"] == pytest.approx(2 * b.sum() / (a.sum() + b.sum()))


def test_one_voxel_shift_along_z_at_2_5_mm():
    spacing = (0.625, 0.625, 2.5)
    a = np.zeros((20, 20, 10), bool)
    a[5:15, 5:15, 3:6] = True
    b = np.roll(a, 1, axis=2)
    m = case_metrics(a, b, spacing)
    assert m["hd"] == 2.5
    assert m["dice"] == pytest.approx(2 * (10 * 10 * 2) / (300 + 300))


def test_identical_and_empty_rules():
    a = np.zeros((8, 8, 8), bool)
    a[2:5, 2:5, 2:5] = True
    same = case_metrics(a, a, (1, 1, 1))
    assert same == {
        "dice": 1.0,
        "hd": 0.0,
        "hd95": 0.0,
        "assd": 0.0,
        "asd": 0.0,
        "undefined": False,
    }
    empty = np.zeros_like(a)
    both = case_metrics(empty, empty, (1, 1, 1))
    assert both["dice"] == 1.0 and both["hd"] == 0.0 and not both["undefined"]
    one = case_metrics(a, empty, (1, 1, 1))
    assert (
        one["dice"] == 0.0
        and one["undefined"]
        and all(math.isnan(one[k]) for k in ("hd", "hd95", "assd", "asd"))
    )


def test_border_is_6_connected_shell():
    a = np.zeros((7, 7, 7), bool)
    a[1:6, 1:6, 1:6] = True
    assert border(a).sum() == 5**3 - 3**3


def test_asd_challenge_vs_assd_by_hand():
    # A: 1 x 1 x 3 column; B: same shifted by 2 voxels in X -> every border voxel is 2 mm away
    a = np.zeros((6, 3, 5), bool)
    a[1, 1, 1:4] = True
    b = np.zeros_like(a)
    b[3, 1, 1:4] = True
    m = case_metrics(a, b, (1, 1, 1))
    assert m["assd"] == 2.0 and m["asd"] == 2.0 and m["hd95"] == 2.0
    c = np.zeros_like(a)
    c[3, 1, 1:3] = True  # 2 voxels: d_AC = [2, 2, sqrt(5)], d_CA = [2, 2]
    m = case_metrics(a, c, (1, 1, 1))
    assert m["assd"] == pytest.approx((4 + math.sqrt(5) + 4) / 5)
    assert m["asd"] == pytest.approx(((4 + math.sqrt(5)) / 3 + 2) / 2)


def test_summary_and_burden():
    s = summarize([1.0, 3.0, math.nan], diagonal_mm=[10.0, 10.0, 10.0])
    assert s["mean"] == 2.0 and s["std"] == pytest.approx(math.sqrt(2)) and s["undefined"] == 1
    assert s["penalised_mean"] == pytest.approx((1 + 3 + 10) / 3)
    assert diagonal_mm((3, 4, 0), (1, 1, 1)) == 5.0
    wall = np.zeros(10, bool)
    wall[:4] = True
    scar = np.zeros(10, bool)
    scar[[0, 1, 7]] = True
    assert scar_burden(scar, wall) == 0.5


def test_agrees_with_monai(monai):
    import torch
    from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance

    rng = np.random.default_rng(0)
    from scipy import ndimage

    spacing = (0.625, 0.625, 2.5)
    for _ in range(3):
        a = ndimage.gaussian_filter(rng.standard_normal((48, 40, 12)), (3, 3, 1)) > 0.1
        b = ndimage.gaussian_filter(rng.standard_normal((48, 40, 12)), (3, 3, 1)) > 0.1
        ours = case_metrics(a, b, spacing)
        ta, tb = (torch.from_numpy(m)[None, None].float() for m in (a, b))
        hd = compute_hausdorff_distance(ta, tb, spacing=spacing).item()
        hd95 = compute_hausdorff_distance(ta, tb, percentile=95, spacing=spacing).item()
        asd = compute_average_surface_distance(ta, tb, symmetric=True, spacing=spacing).item()
        assert ours["hd"] == pytest.approx(hd, abs=1e-4)
        assert ours["hd95"] == pytest.approx(hd95, abs=1e-4)
        assert ours["assd"] == pytest.approx(asd, abs=1e-4)
