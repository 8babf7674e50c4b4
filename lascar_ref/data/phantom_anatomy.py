"""Synthetic LA anatomy for LGE phantoms — docs/design.md §7 (our data for tests and the demo).

All geometry is in mm, centred in the field of view, drawn from a numpy Generator:
- LA body: an ellipsoid (semi-axes 24-32 x 21-28 x 18-24 mm times a size factor from
  style.la_scale) with a smooth low-order shape modulation; four pulmonary veins leaving the
  posterior LA at the left/right, superior/inferior corners, each three capsule segments of
  varying radius (style.vein_irregularity) and direction, flared at the ostium; the labelled LA
  stops 12-20 mm along the vein, the vessel goes on, unlabelled; a lobulated appendage
  (style.appendage_lobes). LA volume about 30-130 ml.
- LA wall: a 2-3 mm shell outside all LA blood.
- Scar: antral rings around 2-4 vein ostia and 1-3 patches, broken into fragments by a fine
  random field (style.scar_fragmentation_mm, style.scar_coverage), only where the wall lies within
  the Eq. 6 band's 2.5 mm of the labelled LA; plus label noise as in the paper's Fig. 2: blobs
  labelled scar 4-6 mm inside the cavity and 3-5 mm outside the wall, with no enhancement, added
  until they are style.label_noise of the scar label.
- Distractors touching the LA: the LV blood pool with its nulled myocardium, the ascending and
  descending aorta; epicardial fat; dark lung laterally. Scar-like enhancing confounders outside
  the wall: the aortic walls, the mitral annulus (LV myocardium near the LA), patches of LV
  myocardium, the vertebral body posterior to the descending aorta (and the fat, bright in LGE).
Tests: tests/test_data_phantom.py
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .phantom_style import DEFAULT_STYLE, PhantomStyle


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


def smooth_field(rng, shape, spacing, scale_mm: float) -> np.ndarray:
    """A smooth zero-mean, unit-std random field with correlation length ~scale_mm."""
    f = ndimage.gaussian_filter(
        rng.standard_normal(shape).astype(np.float32), [scale_mm / s for s in spacing]
    )
    return f / (f.std() + 1e-12)


def _vein(x, y, z, rng, p0, d, length, radius, irregular):
    """A pulmonary vein: three capsule segments along a gently bending direction, radius varying
    by +-irregular, the first (ostium) flared by 25%."""
    out = np.zeros(np.broadcast_shapes(x.shape, y.shape, z.shape), dtype=bool)
    p, seg = np.asarray(p0, dtype=float), length / 3
    for i in range(3):
        r = radius * (1 + irregular * rng.uniform(-1, 1)) * (1.25 if i == 0 else 1.0)
        out |= _capsule(x, y, z, p, d, seg, max(r, 2.0))
        p = p + d * seg
        d = d + rng.uniform(-0.25, 0.25, 3)
        d /= np.linalg.norm(d)
    return out


def make_anatomy(
    rng: np.random.Generator, shape, spacing, style: PhantomStyle = DEFAULT_STYLE
) -> dict[str, np.ndarray]:
    """Boolean maps (X, Y, Z): la (label), la_blood (LA + whole veins), blood (all bright blood),
    wall, scar (true enhancement), scar_label (annotation incl. noise), myo (nulled LV
    myocardium), fat, lung, enhancing (scar-like confounders outside the wall; enhancing_kind:
    uint8, CONFOUNDERS index + 1), inflow (blood near the vein ostia)."""
    x, y, z = _grid(shape, spacing)
    c0 = rng.uniform(-4, 4, 3)
    k_size = rng.uniform(*style.la_scale)
    axes = tuple(
        k_size * a for a in (rng.uniform(24, 32), rng.uniform(21, 28), rng.uniform(18, 24))
    )
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
            vein_rng = np.random.default_rng(rng.integers(2**32))  # same shape for both lengths
            state = vein_rng.bit_generator.state
            irregular = style.vein_irregularity
            la |= _vein(x, y, z, vein_rng, p0, d, length + 0.5 * axes[1], radius, irregular)
            vein_rng.bit_generator.state = state
            blood |= _vein(x, y, z, vein_rng, p0, d, length + 0.5 * axes[1] + 30, radius, irregular)
            ostia.append((p0 + d * 0.5 * axes[1], radius))
    laa = c0 + np.array([0.6 * axes[0], -0.7 * axes[1], 0.35 * axes[2]])
    lo, hi = style.appendage_lobes
    for _ in range(int(rng.integers(lo, hi + 1))):
        lobe = laa + rng.uniform(-5, 5, 3) * k_size
        sizes = (rng.uniform(6, 10), rng.uniform(4.5, 7), rng.uniform(4.5, 7))
        la |= _ellipsoid(x, y, z, lobe, tuple(k_size * v for v in sizes)) <= 1
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
    # scar: antral rings and patches in the wall, broken up by a fine random field, only within
    # the Eq. 6 band's 2.5 mm of the labelled LA (so the label, noise aside, lies in the band)
    smooth = smooth_field(rng, shape, spacing, 4.0)
    fragments = smooth_field(rng, shape, spacing, style.scar_fragmentation_mm)
    seeds = [(p, rad + rng.uniform(4, 8)) for p, rad in ostia if rng.random() < 0.7]
    for _ in range(rng.integers(1, 4)):
        v = rng.standard_normal(3)
        v /= np.linalg.norm(v)
        seeds.append((c0 + v * _radius_along(axes, v), rng.uniform(6, 10)))
    near = np.zeros(shape, dtype=bool)
    for p, rad in seeds:
        near |= (x - p[0]) ** 2 + (y - p[1]) ** 2 + (z - p[2]) ** 2 <= rad**2
    d_la = ndimage.distance_transform_edt(~la, sampling=spacing)
    scar = wall & near & (fragments > style.scar_coverage) & (d_la <= SCAR_REACH_MM)
    # label noise (Fig. 2): blobs 4-6 mm inside the cavity and 3-5 mm outside the wall, labelled
    # scar with no enhancement, until they are style.label_noise of the scar label
    scar_label = scar.copy()
    d_in = ndimage.distance_transform_edt(la, sampling=spacing)
    bands = (
        (d_in > 4) & (d_in < 6),
        (d_out > thickness + 1) & (d_out < thickness + 3) & ~others,
    )
    noise = np.zeros(shape, dtype=bool)
    target = style.label_noise / max(1 - style.label_noise, 1e-6) * scar.sum()
    for i in range(64):
        if noise.sum() >= target or (i >= 2 and not target):
            break
        idx = np.flatnonzero(bands[i % 2])
        if not idx.size:
            continue
        q = np.unravel_index(idx[rng.integers(idx.size)], shape)
        p = np.array([x.ravel()[q[0]], y.ravel()[q[1]], z.ravel()[q[2]]])
        blob = (x - p[0]) ** 2 + (y - p[1]) ** 2 + (z - p[2]) ** 2 <= rng.uniform(1.5, 2.5) ** 2
        noise |= blob & ~scar
    scar_label |= noise
    fat = smooth_field(rng, shape, spacing, 3.0) > 0.25
    fat &= (d_out > thickness) & (d_out < thickness + 6) & ~others & ~myo
    lung = (np.abs(y - c0[1]) > 48 * k_size + 6 * smooth) & ~blood & ~wall & ~others & ~myo
    kind = _confounders(
        rng,
        (x, y, z),
        spacing,
        style,
        np.broadcast_to(ao | dao, shape),
        lv,
        myo,
        blood | wall,
        c0,
        axes,
        dao_r,
        thickness,
    )
    enhancing = kind > 0
    lung &= ~enhancing
    return {
        "la": la,
        "la_blood": blood,
        "blood": blood | others,
        "wall": wall & ~others,
        "scar": scar,
        "scar_label": scar_label,
        "myo": myo & ~enhancing,
        "fat": fat & ~enhancing,
        "lung": lung,
        "enhancing": enhancing,
        "enhancing_kind": kind,
        "inflow": _near_points(x, y, z, [(p, r + 10.0) for p, r in ostia]) & blood,
    }


SCAR_REACH_MM = 2.5  # true scar lies within this distance of the LA label (Eq. 6 delta_out)


def _near_points(x, y, z, balls) -> np.ndarray:
    """Voxels within any of the (centre, radius) balls."""
    out = np.zeros(np.broadcast_shapes(x.shape, y.shape, z.shape), dtype=bool)
    for p, r in balls:
        out |= (x - p[0]) ** 2 + (y - p[1]) ** 2 + (z - p[2]) ** 2 <= r**2
    return out


def _confounders(rng, xyz, spacing, style, aortae, lv, myo, atrium, c0, axes, dao_r, thickness):
    """Scar-like enhancing structures outside the LA wall: the aortic walls (1.5-2.5 mm rings),
    the mitral annulus (LV myocardium within 6 mm of the LA wall), patches of LV myocardium and
    the vertebral body posterior to the descending aorta. Empty where the style switches them
    off (intensity range (0, 0))."""
    x, y, z = xyz
    shape = np.broadcast_shapes(x.shape, y.shape, z.shape)
    kind = np.zeros(shape, dtype=np.uint8)  # CONFOUNDERS index + 1, 0 = none
    if max(style.aortic_wall) > 0:
        d_ao = ndimage.distance_transform_edt(~aortae, sampling=spacing)
        kind[(d_ao > 0) & (d_ao <= rng.uniform(1.5, 2.5))] = 1
    if max(style.annulus) > 0:
        d_atrium = ndimage.distance_transform_edt(~atrium, sampling=spacing)
        kind[myo & (d_atrium <= thickness + 6.0)] = 2
    if style.myocardial_patches:
        idx = np.flatnonzero(myo)
        for _ in range(style.myocardial_patches if idx.size else 0):
            q = np.unravel_index(idx[rng.integers(idx.size)], shape)
            p = np.array([x.ravel()[q[0]], y.ravel()[q[1]], z.ravel()[q[2]]])
            kind[myo & _near_points(x, y, z, [(p, rng.uniform(5, 9))])] = 3
    if max(style.spine) > 0:
        r = rng.uniform(13, 18)
        cx = c0[0] - axes[0] - 2 * dao_r - thickness - 3.0 - r - 4.0
        kind[np.broadcast_to((x - cx) ** 2 + (y - c0[1]) ** 2 <= r**2, shape)] = 4
    kind[atrium | lv] = 0
    return kind


CONFOUNDERS = ("aortic_wall", "annulus", "myocardial_patches", "spine")  # kinds 1..4
