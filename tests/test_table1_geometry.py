"""Table 1 spatial operations against analytic answers (lascar_ref/augment/spatial.py):
rotation and zoom in mm under anisotropic spacing, elastic amplitude and smoothness, label
alignment and binarity, thin-structure survival."""

import math

import pytest
import torch

from lascar_ref.augment.spatial import apply_spatial, elastic_field

SPACING = (0.625, 0.625, 2.5)
VOL = (96, 96, 24)
PATCH = (64, 64, 16)
START = torch.tensor([[16, 16, 4]])
CENTRE_VOX = torch.tensor([16 + 31.5, 16 + 31.5, 4 + 7.5])  # volume index of the patch centre


def ball(centre_mm, radius_mm, shape=VOL):
    """(1, 1, *shape) float ball in mm, centre given in volume-index mm coordinates."""
    axes = [torch.arange(n) * s for n, s in zip(shape, SPACING)]
    X, Y, Z = torch.meshgrid(*axes, indexing="ij")
    r2 = (X - centre_mm[0]) ** 2 + (Y - centre_mm[1]) ** 2 + (Z - centre_mm[2]) ** 2
    return (r2 <= radius_mm**2).float()[None, None]


def centroid_mm(x):
    """Intensity-weighted centroid of (1, 1, *PATCH) in mm relative to the patch centre."""
    axes = [(torch.arange(n) - (n - 1) / 2) * s for n, s in zip(x.shape[2:], SPACING)]
    grids = torch.meshgrid(*axes, indexing="ij")
    w = x[0, 0]
    return torch.stack([(g * w).sum() / w.sum() for g in grids])


def warp(vol, angle=0.0, zoom=1.0, disp=None):
    return apply_spatial(
        vol,
        START,
        PATCH,
        SPACING,
        torch.tensor([angle]),
        torch.tensor([zoom]),
        disp,
        torch.tensor([True]),
    )


def test_rotation_moves_a_ball_to_the_predicted_mm_position():
    offset = torch.tensor([9.0, 0.0, 0.0])  # mm from the patch centre, along X
    vol = ball(CENTRE_VOX * torch.tensor(SPACING) + offset, 2.0)
    for angle in (15.0, -10.0):
        t = math.radians(angle)
        expected = torch.tensor(
            [9.0 * math.cos(t), 9.0 * math.sin(t), 0.0]
        )  # +angle turns +X toward +Y
        assert torch.allclose(centroid_mm(warp(vol, angle=angle)), expected, atol=0.15)


def test_zoom_scales_a_ball_radius_in_mm():
    vol = ball(CENTRE_VOX * torch.tensor(SPACING), 8.0)
    voxel_mm3 = math.prod(SPACING)
    # equivalent-sphere radius from the partial-volume (interpolated) sum: robust to 2.5 mm slices
    r0 = (warp(vol).sum() * voxel_mm3 * 3 / (4 * math.pi)) ** (1 / 3)
    r1 = (warp(vol, zoom=1.1).sum() * voxel_mm3 * 3 / (4 * math.pi)) ** (1 / 3)
    r2 = (warp(vol, zoom=0.9).sum() * voxel_mm3 * 3 / (4 * math.pi)) ** (1 / 3)
    assert float(r1 / r0) == pytest.approx(1.1, abs=0.01)
    assert float(r2 / r0) == pytest.approx(0.9, abs=0.01)


def test_crop_only_grid_is_the_integer_slice():
    vol = torch.randn(1, 1, *VOL)
    out = warp(vol)  # identity transform through grid_sample
    assert torch.allclose(
        out, vol[:, :, 16:80, 16:80, 4:20], atol=1e-4
    )  # float rounding of the grid
    fast = apply_spatial(
        vol, START, PATCH, SPACING, torch.zeros(1), torch.ones(1), None, torch.tensor([False])
    )
    assert torch.equal(fast, vol[:, :, 16:80, 16:80, 4:20])


def test_elastic_amplitude_and_smoothness():
    delta = torch.tensor([[6.0, 4.0, 2.5]])
    d = elastic_field(torch.tensor([3.0]), delta, torch.tensor([11]), PATCH, torch.device("cpu"))
    assert torch.allclose(d.abs().amax(dim=(2, 3, 4)), delta, atol=1e-5)
    # smooth: neighbouring displacements are strongly correlated along every axis
    for axis in (2, 3, 4):
        a, b = d.narrow(axis, 0, d.shape[axis] - 1), d.narrow(axis, 1, d.shape[axis] - 1)
        corr = ((a - a.mean()) * (b - b.mean())).mean() / (a.std() * b.std())
        assert corr > 0.9
    # folds (det of the Jacobian of u + d(u) <= 0) are rare even at the smallest sigma
    J = torch.stack(torch.gradient(d[0], dim=(1, 2, 3)), 1).permute(2, 3, 4, 0, 1) + torch.eye(3)
    assert (torch.linalg.det(J) <= 0).float().mean() < 0.02


@pytest.mark.parametrize("op", ["rotation", "zoom", "elastic"])
def test_labels_stay_binary_and_aligned_with_the_image(op):
    centre = CENTRE_VOX * torch.tensor(SPACING) + torch.tensor([5.0, -4.0, 2.5])
    label = ball(centre, 4.0)
    image = 100.0 * ball(centre, 4.0) + 1.0
    vol = torch.cat([image, label], 1)
    disp = None
    if op == "elastic":
        disp = elastic_field(
            torch.tensor([4.0]),
            torch.tensor([[5.0, 5.0, 3.0]]),
            torch.tensor([3]),
            PATCH,
            torch.device("cpu"),
        )
    out = warp(
        vol, angle=12.0 if op == "rotation" else 0.0, zoom=1.08 if op == "zoom" else 1.0, disp=disp
    )
    lab = (out[:, 1:] > 0.5).float()
    assert set(lab.unique().tolist()) == {0.0, 1.0}
    img = (out[:, :1] - 1.0).clamp_min(0)
    assert torch.allclose(centroid_mm(lab), centroid_mm(img), atol=0.3)


def test_thin_shell_survives_small_rotations():
    c = CENTRE_VOX * torch.tensor(SPACING) + torch.tensor([4.0, 3.0, 0.0])
    shell = ball(c, 10.0) - ball(c, 10.0 - 2 * 0.625)  # 2 voxels thick in-plane
    before = warp(shell).sum()
    for angle in (3.0, -5.0, 8.0):
        after = (warp(shell, angle=angle) > 0.5).sum()
        assert after >= 0.9 * before
