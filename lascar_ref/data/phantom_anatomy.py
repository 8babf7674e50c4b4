"""Synthetic LA anatomy for LGE phantoms — docs/design.md §7 (our data for tests and the demo).

All geometry is in mm, centred in the field of view, drawn from a numpy Generator:
- LA body: an ellipsoid (semi-axes 24-32 x 21-28 x 18-24 mm) with a smooth low-order shape
  modulation; four pulmonary veins (capsules of radius 4.5-7 mm leaving the posterior LA at the
  left/right, superior/inferior corners; the labelled LA stops after 12-20 mm, the vessel goes on,
  unlabelled); a left atrial appendage lobe. LA volume 40-200 ml.
- LA wall: a 2-3 mm shell outside all LA blood.
- Scar (in the wall): antral rings around 2-4 vein ostia and 1-3 patches, thinned by a smooth
  random field; plus label noise as in the paper's Fig. 2: one small scar label inside the cavity
  and one outside the wall, with no enhancement in the image.
- Distractors touching the LA: the LV blood pool with its nulled myocardium, the ascending and
  descending aorta; epicardial fat; dark lung laterally.
Tests: tests/test_data_phantom.py
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def _grid(shape, spacing):
    """Broadcastable mm coordinates (X,1,1), (1,Y,1), (1,1,Z) centred in the field of view."""
    return [
        ((np.arange(n) - (n - 1) / 2) * s)
        .astype(np.float32)
        .reshape([-1 if a == i else 1 for a in range(3)])
        for i, (n, s) in enumerate(zip(shape, spacing))
    ]


def _capsule(x, y, z, p0, d, length, radius):
    """Voxels within `radius` mm of the segment p0 + t d, t in [0, length]."""
    t = np.clip((x - p0[0]) * d[0] + (y - p0[1]) * d[1] + (z - p0[2]) * d[2], 0, length)
    return (x - p0[0] - t * d[0]) ** 2 + (y - p0[1] - t * d[1]) ** 2 + (
        z - p0[2] - t * d[2]
    ) ** 2 <= radius**2


def _ellipsoid(x, y, z, c, axes):
    return ((x - c[0]) / axes[0]) ** 2 + ((y - c[1]) / axes[1]) ** 2 + ((z - c[2]) / axes[2]) ** 2


def _radius_along(axes, u):
    return 1.0 / np.sqrt(sum((ui / ai) ** 2 for ui, ai in zip(u, axes)))


def make_anatomy(rng: np.random.Generator, shape, spacing) -> dict[str, np.ndarray]:
    """Boolean maps (X, Y, Z): la (label), la_blood (LA + whole veins), blood (all bright blood),
    wall, scar (true enhancement),
    scar_label (annotation incl. noise), myo (nulled LV myocardium), fat, lung."""
    x, y, z = _grid(shape, spacing)
    c0 = rng.uniform(-4, 4, 3)
    axes = (rng.uniform(24, 32), rng.uniform(21, 28), rng.uniform(18, 24))
    r = np.sqrt((x - c0[0]) ** 2 + (y - c0[1]) ** 2 + (z - c0[2]) ** 2) + 1e-6
    k = rng.uniform(-0.08, 0.08, 4)
    mod = (
        1
        + k[0] * (x - c0[0]) * (y - c0[1]) / r**2
        + k[1] * (y - c0[1]) * (z - c0[2]) / r**2
        + k[2] * (x - c0[0]) * (z - c0[2]) / r**2
        + k[3] * (x - c0[0]) / r
    )
    la = _ellipsoid(x, y, z, c0, axes) <= mod**2
    blood = la.copy()
    ostia = []
    for sy in (-1, 1):
        for sz in (-1, 1):
            p0 = c0 + np.array([-0.55 * axes[0], 0.55 * sy * axes[1], 0.45 * sz * axes[2]])
            d = np.array([-0.5, sy * 1.0, sz * 0.35]) + rng.uniform(-0.15, 0.15, 3)
            d /= np.linalg.norm(d)
            radius, length = rng.uniform(4.5, 7.0), rng.uniform(12, 20)
            la |= _capsule(x, y, z, p0, d, length + 0.5 * axes[1], radius)  # labelled proximal vein
            blood |= _capsule(
                x, y, z, p0, d, length + 0.5 * axes[1] + 30, radius
            )  # the vessel goes on
            ostia.append((p0 + d * 0.5 * axes[1], radius))
    laa = c0 + np.array([0.6 * axes[0], -0.7 * axes[1], 0.35 * axes[2]])
    la |= _ellipsoid(x, y, z, laa, (rng.uniform(8, 12), rng.uniform(6, 8), rng.uniform(6, 8))) <= 1
    blood |= la
    thickness = rng.uniform(2.0, 3.0)
    d_out = ndimage.distance_transform_edt(~blood, sampling=spacing)
    wall = (d_out > 0) & (d_out <= thickness)
    # LV (with myocardium) and aorta, placed so that they touch the LA wall
    u = np.array([0.75, 0.35, -0.55]) / np.linalg.norm([0.75, 0.35, -0.55])
    lv_axes = (rng.uniform(30, 38), rng.uniform(26, 32), rng.uniform(26, 32))
    myo_t = rng.uniform(7, 10)
    gap = thickness + myo_t + 1.0
    lv_c = c0 + u * (_radius_along(axes, u) + _radius_along(lv_axes, u) + gap)
    lv_f = _ellipsoid(x, y, z, lv_c, lv_axes)
    lv = lv_f <= 1
    myo = (lv_f <= ((_radius_along(lv_axes, u) + myo_t) / _radius_along(lv_axes, u)) ** 2) & ~lv
    ao_r = rng.uniform(11, 15)
    ao = (x - (c0[0] + axes[0] + ao_r + thickness + 1.0)) ** 2 + (
        y - (c0[1] + 0.25 * axes[1])
    ) ** 2 <= ao_r**2
    dao_r = rng.uniform(9, 12)
    dao = (x - (c0[0] - axes[0] - dao_r - thickness - 3.0)) ** 2 + (
        y - (c0[1] + 0.2 * axes[1])
    ) ** 2 <= dao_r**2
    others = (lv | ao | dao) & ~blood & ~wall
    myo &= ~blood & ~wall & ~others
    # scar: antral rings and patches in the wall, thinned by a smooth random field
    smooth = ndimage.gaussian_filter(
        rng.standard_normal(shape).astype(np.float32), [4.0 / s for s in spacing]
    )
    smooth /= smooth.std() + 1e-12
    seeds = [(p, rad + rng.uniform(4, 8)) for p, rad in ostia if rng.random() < 0.7]
    for _ in range(rng.integers(1, 4)):
        v = rng.standard_normal(3)
        v /= np.linalg.norm(v)
        seeds.append((c0 + v * _radius_along(axes, v), rng.uniform(6, 10)))
    near = np.zeros(shape, dtype=bool)
    for p, rad in seeds:
        near |= (x - p[0]) ** 2 + (y - p[1]) ** 2 + (z - p[2]) ** 2 <= rad**2
    d_la = ndimage.distance_transform_edt(~la, sampling=spacing)
    scar = (
        wall & near & (smooth > -0.3) & (d_la <= thickness)
    )  # around the labelled LA, not far up a vein
    # label noise (Fig. 2): a blob inside the cavity 4-6 mm from the wall, one 3-5 mm outside it
    scar_label = scar.copy()
    d_in = ndimage.distance_transform_edt(la, sampling=spacing)
    for band in (
        (d_in > 4) & (d_in < 6),
        (d_out > thickness + 1) & (d_out < thickness + 3) & ~others,
    ):
        idx = np.flatnonzero(band)
        if idx.size:
            q = np.unravel_index(idx[rng.integers(idx.size)], shape)
            p = np.array([x.ravel()[q[0]], y.ravel()[q[1]], z.ravel()[q[2]]])
            scar_label |= (x - p[0]) ** 2 + (y - p[1]) ** 2 + (z - p[2]) ** 2 <= rng.uniform(
                1.5, 2.5
            ) ** 2
    fat = (
        ndimage.gaussian_filter(
            rng.standard_normal(shape).astype(np.float32), [3.0 / s for s in spacing]
        )
        > 0.25
    )
    fat &= (d_out > thickness) & (d_out < thickness + 6) & ~others & ~myo
    lung = (np.abs(y - c0[1]) > 48 + 6 * smooth) & ~blood & ~wall & ~others & ~myo
    return {
        "la": la,
        "la_blood": blood,
        "blood": blood | others,
        "wall": wall & ~others,
        "scar": scar,
        "scar_label": scar_label,
        "myo": myo,
        "fat": fat,
        "lung": lung,
    }
