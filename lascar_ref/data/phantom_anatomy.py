"""Synthetic LA anatomy for LGE phantoms — docs/design.md §7 (our data for tests and the demo).

All geometry is in mm, centred in the field of view, drawn from a numpy Generator, in an
anatomical frame: x posterior -> anterior, y the patient's right -> left, z inferior -> superior
(phantom.affine_for maps it to the NIfTI world):
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


# Geometry in mm (ranges are uniform draws), from typical adult cardiac anatomy on LGE MRI.
LA_CENTRE_JITTER_MM = 4.0  # the LA centre moves up to this far from the field's centre
LA_SEMI_AXES_MM = ((24, 32), (21, 28), (18, 24))  # LA body ellipsoid, before style.la_scale
LA_MODULATION = 0.08  # amplitude of the low-order shape modulation of the LA body
VEIN_RADIUS_MM = (4.5, 7.0)
VEIN_LABEL_MM = (12, 20)  # labelled length of a vein beyond the body's surface
VEIN_UNLABELLED_MM = 30  # the vessel goes on, unlabelled, this much further
APPENDAGE_LOBE_MM = ((6, 10), (4.5, 7), (4.5, 7))  # semi-axes of one appendage lobe
WALL_MM = (2.0, 3.0)  # LA wall thickness
LV_SEMI_AXES_MM = ((30, 38), (26, 32), (26, 32))
LV_DIRECTION = (0.75, 0.35, -0.55)  # from the LA centre to the LV: anterior, left, inferior
MYOCARDIUM_MM = (7, 10)
AORTA_RADIUS_MM = (11, 15)  # ascending aorta
DESCENDING_AORTA_RADIUS_MM = (9, 12)
SCAR_SEED_MM = (6, 10)  # radius of a scar patch around a point of the LA surface
ANTRUM_EXTRA_MM = (4, 8)  # an antral ring reaches this far beyond the vein radius
NOISE_INSIDE_MM = (4, 6)  # label noise blobs this deep inside the cavity (Fig. 2)
NOISE_OUTSIDE_MM = (1, 3)  # and this far beyond the wall
NOISE_BLOB_RADIUS_MM = (1.5, 2.5)
FAT_BAND_MM = 6  # epicardial fat lies within this distance outside the wall
LUNG_OFFSET_MM = 48  # lung lies beyond this lateral distance from the LA centre (x style.la_scale)
INFLOW_REACH_MM = 10.0  # inflow brightens blood within this distance beyond a vein ostium


def make_anatomy(
    rng: np.random.Generator, shape, spacing, style: PhantomStyle = DEFAULT_STYLE
) -> dict[str, np.ndarray]:
    """Boolean maps (X, Y, Z): la (label), la_blood (LA + whole veins), blood (all bright blood),
    wall, scar (true enhancement), scar_label (annotation incl. noise), myo (nulled LV
    myocardium), fat, lung, enhancing (scar-like confounders outside the wall; enhancing_kind:
    uint8, CONFOUNDERS index + 1), inflow (blood near the vein ostia). The draws happen in a
    fixed order (body, veins, appendage, wall, neighbours, scar, label noise, fat, lung,
    confounders), so a seed always gives the same phantom."""
    xyz = _grid(shape, spacing)
    c0, k_size, axes, la = _la_body(rng, xyz, style)
    la, blood, ostia = _veins(rng, xyz, c0, axes, style, la)
    la = _appendage(rng, xyz, c0, axes, k_size, style, la)
    blood |= la
    thickness = rng.uniform(*WALL_MM)
    d_out = ndimage.distance_transform_edt(~blood, sampling=spacing)
    wall = (d_out > 0) & (d_out <= thickness)
    lv, myo, aortae, dao_r = _neighbours(rng, xyz, c0, axes, thickness)
    others = (lv | aortae) & ~blood & ~wall
    myo &= ~blood & ~wall & ~others
    smooth = smooth_field(rng, shape, spacing, 4.0)
    scar = _scar(rng, xyz, spacing, style, c0, axes, ostia, wall, la)
    bands = _noise_bands(la, d_out, thickness, others, spacing)
    scar_label = scar | _label_noise(rng, xyz, style, bands, scar)
    fat = smooth_field(rng, shape, spacing, 3.0) > 0.25
    fat &= (d_out > thickness) & (d_out < thickness + FAT_BAND_MM) & ~others & ~myo
    x, y, z = xyz
    lung = np.abs(y - c0[1]) > LUNG_OFFSET_MM * k_size + 6 * smooth
    lung &= ~blood & ~wall & ~others & ~myo
    kind = _confounders(
        rng,
        xyz,
        spacing,
        style,
        np.broadcast_to(aortae, shape),
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
        "inflow": _near_points(x, y, z, [(p, r + INFLOW_REACH_MM) for p, r in ostia]) & blood,
        "noise_bands": bands,  # (inside the cavity, beyond the wall): where label noise falls
    }


def more_label_noise(
    rng: np.random.Generator, anatomy: dict, spacing, rate: float, style=DEFAULT_STYLE
) -> np.ndarray:
    """The scar label of `anatomy` (make_anatomy's maps) with label noise raised to `rate` of
    the label: its own noise blobs kept, more drawn from `rng` in the same bands (X, Y, Z) bool.
    The label only: nothing else of the phantom changes."""
    scar = anatomy["scar"]
    xyz = _grid(scar.shape, spacing)
    noise = anatomy["scar_label"] & ~scar
    return scar | _label_noise(rng, xyz, style, anatomy["noise_bands"], scar, rate, noise)


def _la_body(rng, xyz, style):
    """(centre, size factor, semi-axes, LA body mask): an ellipsoid times a smooth low-order
    modulation of its radius."""
    x, y, z = xyz
    c0 = rng.uniform(-LA_CENTRE_JITTER_MM, LA_CENTRE_JITTER_MM, 3)
    k_size = rng.uniform(*style.la_scale)
    axes = tuple(k_size * rng.uniform(*a) for a in LA_SEMI_AXES_MM)
    r = np.sqrt((x - c0[0]) ** 2 + (y - c0[1]) ** 2 + (z - c0[2]) ** 2) + 1e-6
    k = rng.uniform(-LA_MODULATION, LA_MODULATION, 4)
    mod = (
        1
        + k[0] * (x - c0[0]) * (y - c0[1]) / r**2
        + k[1] * (y - c0[1]) * (z - c0[2]) / r**2
        + k[2] * (x - c0[0]) * (z - c0[2]) / r**2
        + k[3] * (x - c0[0]) / r
    )
    return c0, k_size, axes, _ellipsoid(x, y, z, c0, axes) <= mod**2


def _veins(rng, xyz, c0, axes, style, la):
    """Four pulmonary veins leaving the posterior LA at its left/right, superior/inferior
    corners: (LA with the labelled part of each vein, blood with the whole vessels, the ostia as
    (centre, radius))."""
    x, y, z = xyz
    blood, ostia = la.copy(), []
    for sy in (-1, 1):
        for sz in (-1, 1):
            p0 = c0 + np.array([-0.55 * axes[0], 0.55 * sy * axes[1], 0.45 * sz * axes[2]])
            d = np.array([-0.5, sy * 1.0, sz * 0.35]) + rng.uniform(-0.15, 0.15, 3)
            d /= np.linalg.norm(d)
            radius, length = rng.uniform(*VEIN_RADIUS_MM), rng.uniform(*VEIN_LABEL_MM)
            vein_rng = np.random.default_rng(rng.integers(2**32))  # same shape for both lengths
            state = vein_rng.bit_generator.state
            irregular, labelled = style.vein_irregularity, length + 0.5 * axes[1]
            la = la | _vein(x, y, z, vein_rng, p0, d, labelled, radius, irregular)
            vein_rng.bit_generator.state = state
            whole = labelled + VEIN_UNLABELLED_MM
            blood |= _vein(x, y, z, vein_rng, p0, d, whole, radius, irregular)
            ostia.append((p0 + d * 0.5 * axes[1], radius))
    return la, blood, ostia


def _appendage(rng, xyz, c0, axes, k_size, style, la):
    """The LA with a lobulated appendage (style.appendage_lobes ellipsoids) added anteriorly, on
    the left as in the heart."""
    x, y, z = xyz
    laa = c0 + np.array([0.6 * axes[0], 0.7 * axes[1], 0.35 * axes[2]])  # anterior, left
    lo, hi = style.appendage_lobes
    for _ in range(int(rng.integers(lo, hi + 1))):
        lobe = laa + rng.uniform(-5, 5, 3) * k_size
        sizes = tuple(rng.uniform(*a) for a in APPENDAGE_LOBE_MM)
        la = la | (_ellipsoid(x, y, z, lobe, tuple(k_size * v for v in sizes)) <= 1)
    return la


def _neighbours(rng, xyz, c0, axes, thickness):
    """The LV blood pool, its myocardium (nulled in LGE), and the ascending and descending
    aorta, placed so that they touch the LA wall: (lv, myo, both aortae, descending radius)."""
    x, y, z = xyz
    u = np.array(LV_DIRECTION) / np.linalg.norm(LV_DIRECTION)
    lv_axes = tuple(rng.uniform(*a) for a in LV_SEMI_AXES_MM)
    myo_t = rng.uniform(*MYOCARDIUM_MM)
    gap = thickness + myo_t + 1.0
    lv_c = c0 + u * (_radius_along(axes, u) + _radius_along(lv_axes, u) + gap)
    lv_f = _ellipsoid(x, y, z, lv_c, lv_axes)
    lv = lv_f <= 1
    myo = (lv_f <= ((_radius_along(lv_axes, u) + myo_t) / _radius_along(lv_axes, u)) ** 2) & ~lv
    ao_r = rng.uniform(*AORTA_RADIUS_MM)
    ao = (x - (c0[0] + axes[0] + ao_r + thickness + 1.0)) ** 2 + (
        y - (c0[1] - 0.25 * axes[1])  # ascending aorta anterior, to the right
    ) ** 2 <= ao_r**2
    dao_r = rng.uniform(*DESCENDING_AORTA_RADIUS_MM)
    dao = (x - (c0[0] - axes[0] - dao_r - thickness - 3.0)) ** 2 + (
        y - (c0[1] + 0.2 * axes[1])  # descending aorta posterior, to the left
    ) ** 2 <= dao_r**2
    return lv, myo, ao | dao, dao_r


def _scar(rng, xyz, spacing, style, c0, axes, ostia, wall, la):
    """True scar: antral rings around some vein ostia and 1-3 patches of the wall, broken up by a
    fine random field, only within SCAR_REACH_MM of the labelled LA (so the label, noise aside,
    lies in the Eq. 6 band)."""
    x, y, z = xyz
    shape = wall.shape
    fragments = smooth_field(rng, shape, spacing, style.scar_fragmentation_mm)
    seeds = [(p, rad + rng.uniform(*ANTRUM_EXTRA_MM)) for p, rad in ostia if rng.random() < 0.7]
    for _ in range(rng.integers(1, 4)):
        v = rng.standard_normal(3)
        v /= np.linalg.norm(v)
        seeds.append((c0 + v * _radius_along(axes, v), rng.uniform(*SCAR_SEED_MM)))
    near = _near_points(x, y, z, seeds)
    d_la = ndimage.distance_transform_edt(~la, sampling=spacing)
    return wall & near & (fragments > style.scar_coverage) & (d_la <= SCAR_REACH_MM)


def _noise_bands(la, d_out, thickness, others, spacing):
    """Where label noise may fall (Fig. 2): a band inside the cavity and one beyond the wall."""
    d_in = ndimage.distance_transform_edt(la, sampling=spacing)
    lo_out, hi_out = NOISE_OUTSIDE_MM
    return (
        (d_in > NOISE_INSIDE_MM[0]) & (d_in < NOISE_INSIDE_MM[1]),
        (d_out > thickness + lo_out) & (d_out < thickness + hi_out) & ~others,
    )


def _label_noise(rng, xyz, style, bands, scar, rate=None, noise=None):
    """Blobs labelled scar with no enhancement, alternating between the two bands, until they
    are `rate` (default style.label_noise) of the scar label (at most 64 tries), added to
    `noise` (default none)."""
    x, y, z = xyz
    shape = scar.shape
    noise = np.zeros(shape, dtype=bool) if noise is None else noise.copy()
    rate = style.label_noise if rate is None else rate
    target = rate / max(1 - rate, 1e-6) * scar.sum()
    for i in range(64):
        if noise.sum() >= target or (i >= 2 and not target):
            break
        idx = np.flatnonzero(bands[i % 2])
        if not idx.size:
            continue
        q = np.unravel_index(idx[rng.integers(idx.size)], shape)
        p = np.array([x.ravel()[q[0]], y.ravel()[q[1]], z.ravel()[q[2]]])
        radius = rng.uniform(*NOISE_BLOB_RADIUS_MM)
        blob = (x - p[0]) ** 2 + (y - p[1]) ** 2 + (z - p[2]) ** 2 <= radius**2
        noise |= blob & ~scar
    return noise


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
