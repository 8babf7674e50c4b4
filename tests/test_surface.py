"""The LAScarQS challenge's surface protocol (lascar_ref/evaluation/surface.py,
inference/surface_projection.py; docs/design.md §13): on a sphere LA with a scar cap of known
solid angle the surface burden is the analytic fraction; prediction = ground truth scores 1; a
scar shifted within the probe depth still matches and one beyond it does not; each formula on a
hand-counted case."""

import math

import numpy as np
import pytest

from lascar_ref.evaluation.metrics import border
from lascar_ref.evaluation.surface import node_scores, surface_scores
from lascar_ref.inference.surface_projection import N_STEPS, STEP_MM, project, surface_nodes


def sphere(spacing, radius=12.0, theta=math.pi / 3, axis=0, shift=0.0):
    """(LA, scar) on a grid of `spacing`: a ball of `radius` mm and a scar shell from radius - 1
    to radius + 2 mm (plus `shift`) over the cap within `theta` of the +axis direction."""
    sp = np.asarray(spacing, dtype=float)
    n = np.ceil(2 * (radius + 14) / sp).astype(int)
    axes = [np.arange(k) * s - (k - 1) / 2 * s for k, s in zip(n, sp)]
    g = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)  # (X, Y, Z, 3) mm
    r = np.linalg.norm(g, axis=-1)
    cos = g[..., axis] / np.maximum(r, 1e-9)
    lo, hi = radius - 1 + shift, radius + 2 + shift
    return r <= radius, (r >= lo) & (r <= hi) & (cos >= math.cos(theta))


def test_a_cap_of_known_solid_angle_gives_the_analytic_surface_fraction():
    analytic = (1 - math.cos(math.pi / 3)) / 2  # a 60-degree cap: 25% of the sphere
    for axis in (0, 2):
        la, scar = sphere((1.0, 1.0, 1.0), axis=axis)
        s = surface_scores(la, scar, scar, (1.0, 1.0, 1.0))
        assert s["surface_burden_gt"] == pytest.approx(analytic, abs=0.01)  # isotropic: 1 point
        assert s["surface_dice"] == 1.0 and s["surface_gdice"] == 1.0  # prediction = truth
        assert s["surface_sen"] == 1.0 and s["surface_spe"] == 1.0
    # 2.5 mm slices: nodes are denser on surfaces facing z, so the node-weighted burden of a cap
    # facing z is above the area fraction, one facing x below it (docstring), both within 0.06
    spacing = (0.625, 0.625, 2.5)
    facing_x = surface_scores(*sphere(spacing, axis=0), sphere(spacing, axis=0)[1], spacing)
    facing_z = surface_scores(*sphere(spacing, axis=2), sphere(spacing, axis=2)[1], spacing)
    bx, bz = facing_x["surface_burden_gt"], facing_z["surface_burden_gt"]
    assert bx < analytic < bz and abs(bx - analytic) < 0.06 and abs(bz - analytic) < 0.06


def test_a_scar_within_the_probe_depth_matches_and_one_beyond_does_not():
    la, scar = sphere((1.0, 1.0, 1.0))
    depth = N_STEPS * STEP_MM  # 10 mm
    for shift, matches in ((3.0, True), (depth - 2.5, True), (depth + 2.0, False)):
        _, moved = sphere((1.0, 1.0, 1.0), shift=shift)  # the shell moved outwards by `shift`
        s = surface_scores(la, scar, moved, (1.0, 1.0, 1.0))
        assert (s["surface_dice"] > 0.95) is matches, (shift, s["surface_dice"])
        assert (s["surface_dice"] == 0.0) is (not matches)


def test_the_nodes_are_the_borders_of_the_metrics():
    la, _ = sphere((0.625, 0.625, 2.5))
    assert np.array_equal(surface_nodes(la), np.argwhere(border(la)))


def test_the_probe_by_hand():
    mask = np.zeros((30, 3, 3), bool)
    nodes = np.array([[5, 1, 1]])
    normal = np.array([[1.0, 0.0, 0.0]])
    for at, hit in ((5, True), (8, True), (1, True), (15, True), (16, False), (0, True)):
        m = mask.copy()
        m[at, 1, 1] = True  # 1 mm voxels: the probe reaches 10 mm = 10 voxels each way
        assert project(m, nodes, normal, (1.0, 1.0, 1.0))[0] is np.bool_(hit), at
    m = mask.copy()
    m[9, 1, 1] = True  # at 2 mm spacing along x, 4 voxels = 8 mm away: inside the 10 mm
    assert project(m, nodes, normal, (2.0, 1.0, 1.0))[0]
    m[9, 1, 1], m[11, 1, 1] = False, True  # 12 mm: beyond
    assert not project(m, nodes, normal, (2.0, 1.0, 1.0))[0]


def test_each_formula_on_a_hand_counted_case():
    g = np.array([1, 1, 0, 0, 0], bool)  # 2 scar nodes, 3 wall nodes
    p = np.array([1, 0, 1, 0, 0], bool)  # TP 1, FN 1, FP 1, TN 2
    s = node_scores(g, p, image_voxels=10)
    assert s["surface_dice"] == pytest.approx(2 * 1 / (2 + 1 + 1))  # 0.5
    dice_wall = 2 * 2 / (2 * 2 + 1 + 1)  # wall nodes: P {2, 3, 4} \ {2} = {3, 4} vs G {2, 3, 4}
    assert s["surface_gdice"] == pytest.approx((2 * 0.5 + 3 * dice_wall) / 5)  # 0.6
    assert s["surface_sen"] == 0.5 and s["surface_spe"] == pytest.approx(2 / 3)
    assert s["surface_acc"] == pytest.approx(3 / 5)
    # the challenge's: the 5 voxels off the surface are true negatives too (TN = 2 + 5)
    assert s["surface_spe_image"] == pytest.approx(7 / 8)
    assert s["surface_acc_image"] == pytest.approx((1 + 7) / 10)
    assert (s["surface_burden_gt"], s["surface_burden_pred"], s["surface_nodes"]) == (0.4, 0.4, 5)


def test_no_scar_on_either_side_and_an_empty_la():
    none = np.zeros(4, bool)
    s = node_scores(none, none, image_voxels=8)
    assert s["surface_dice"] == 1.0 and math.isnan(s["surface_sen"]) and s["surface_spe"] == 1.0
    assert s["surface_gdice"] == 1.0
    missed = node_scores(np.array([1, 0, 0, 0], bool), none, image_voxels=8)
    assert missed["surface_dice"] == 0.0 and missed["surface_sen"] == 0.0
    void = np.zeros((4, 4, 4), bool)
    empty = surface_scores(void, void, void, (1.0, 1.0, 1.0))  # no LA: no surface
    assert all(math.isnan(v) for v in empty.values())


def test_node_areas_by_hand():
    """A lone voxel (no gradient: |n_k| = 1/sqrt(3)) stands for its six faces / sqrt(3); the face
    of a half-space x < c stands for its face area s_y s_z, one node per (y, z) column, so the
    nodes' areas sum to the plane's area."""
    from lascar_ref.inference.surface_projection import node_areas

    sp = (0.625, 0.625, 2.5)
    one = np.zeros((3, 3, 3), dtype=bool)
    one[1, 1, 1] = True
    faces = 2 * (sp[1] * sp[2] + sp[0] * sp[2] + sp[0] * sp[1])
    area = node_areas(one, np.array([[1, 1, 1]]), np.zeros((1, 3)), sp)
    assert area[0] == pytest.approx(faces / math.sqrt(3))
    half = np.zeros((8, 5, 4), dtype=bool)
    half[:3] = True  # the volume edge counts as outside: faces at x = 0 are exposed too
    nodes = np.argwhere(half[2:3]) + [2, 0, 0]  # the x = 2 layer, its +x faces exposed
    a = node_areas(half, nodes, np.tile([1.0, 0, 0], (len(nodes), 1)), sp)
    # +x face exposed everywhere; the y and z edge faces have |n_y| = |n_z| = 0
    assert a.sum() == pytest.approx(5 * 4 * sp[1] * sp[2])


def test_node_areas_sum_to_a_tilted_planes_area():
    """A plane at 45 degrees between x and the slice axis z, on 0.625 x 0.625 x 2.5 mm: the nodes
    stand for the plane's area within 2% (counting nodes times any one face area does not)."""
    from lascar_ref.inference.surface_projection import node_areas

    sp = np.array([0.625, 0.625, 2.5])
    shape = (96, 8, 24)
    x, z = (np.arange(shape[0]) * sp[0])[:, None, None], (np.arange(shape[2]) * sp[2])[None, None]
    below = np.broadcast_to(x + z < 40.0, shape)
    n = np.array([1.0, 0.0, 1.0]) / math.sqrt(2)
    nodes = surface_nodes(below)
    inner = (nodes[:, 0] > 0) & (nodes[:, 2] > 0) & (nodes[:, 2] < shape[2] - 1)  # the plane
    a = node_areas(below, nodes, np.tile(n, (len(nodes), 1)), sp)
    keep = inner & ((nodes * sp)[:, 0] + (nodes * sp)[:, 2] > 40.0 - 3.2)  # the plane's layer
    z_lo, z_hi = (nodes[keep, 2].min() - 0.5) * sp[2], (nodes[keep, 2].max() + 0.5) * sp[2]
    plane = (z_hi - z_lo) * math.sqrt(2) * shape[1] * sp[1]  # its extent along z times y
    assert a[keep].sum() == pytest.approx(plane, rel=0.02)
    faces = (sp[1] * sp[2], sp[0] * sp[1])  # a node counted as one x face or one z face
    assert all(abs(keep.sum() * f / plane - 1) > 0.2 for f in faces)


def test_sigma_4_is_read_in_mm(monkeypatch):
    """zxhimageop -gau 4 is read as 4 mm (docs/design.md §13): on 0.625 x 0.625 x 2.5 mm the mask
    is smoothed with 6.4, 6.4 and 1.6 voxels; read in voxels it would be 4, 4, 4 (2.5 mm
    in-plane, 10 mm through the slices)."""
    import lascar_ref.inference.surface_projection as sp_mod

    seen = []
    real = sp_mod.ndimage.gaussian_filter

    def spy(a, sigma, **kw):
        seen.append(list(sigma))
        return real(a, sigma=sigma, **kw)

    monkeypatch.setattr(sp_mod.ndimage, "gaussian_filter", spy)
    la, _ = sphere((0.625, 0.625, 2.5))
    sp_mod.node_normals(la, surface_nodes(la), (0.625, 0.625, 2.5))
    assert seen == [pytest.approx([6.4, 6.4, 1.6])]
