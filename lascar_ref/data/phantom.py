"""Synthetic LGE phantoms in the LAScarQS layout — docs/design.md §7.

Intensity model (arbitrary units before scaling; anatomy from phantom_anatomy.py, every knob a
field of phantom_style.PhantomStyle):
  lung 0.08 | surrounding tissue 0.55 | nulled LV myocardium 0.15 | healthy LA wall 0.35 |
  fat U(fat_intensity) | blood U(blood_gain) per structure, times a smooth swirl
  (1 + blood_heterogeneity x field) and brighter near the vein ostia (inflow) |
  scar U(scar_intensity) | scar-like confounders (aortic wall, mitral annulus, LV myocardium
  patches, vertebral body) U(aortic_wall), U(annulus), U(annulus), U(spine).
The LA blood pool is only modestly brighter than its surroundings, uneven, and touches equally
bright chambers and vessels, so no global threshold segments it (realism.py measures how well
one does); scar-bright structures lie outside the wall, so an intensity rule finds false scar.
Then: smooth tissue texture, partial volume (Gaussian PSF, sigma 0.6 mm in-plane; slice profile
FWHM slice_fwhm_factor x the slice spacing), coil shading (posterior darker by exp(-g)) times a
random 1st/2nd-order bias field (|c| <= bias), Rician noise |I + n1 + i n2| with sigma
U(noise_sigma) at a 1.25 x 1.25 x 2.5 mm voxel, scaled to the grid's voxel volume (white noise:
phantom_style.noise_sigma_for), and scaling to int16 (x 400).
Files: enhanced (int16), atriumSegImgMO (LA = 420, uint16), scarSegImgM (0/1, uint8, Task 1
only); anisotropic voxels (default 0.625 x 0.625 x 2.5 mm, 576 x 576 x 44). Task 2 holds every
Task 1 scan (at shuffled indices) plus LA-only scans. Same seed -> byte-identical files.
Orientation: the voxel axes are phantom_anatomy.py's anatomical frame, array axis 0 posterior ->
anterior, axis 1 right -> left, axis 2 inferior -> superior, and the affine says so (axis codes
"A", "L", "S" in NIfTI's RAS world: `affine_for`), so that a scan reoriented to RAS and the
regions of inference/scar_regions.py see the anatomy where a real scan has it.
Tests: tests/test_data_phantom.py, tests/test_data_realism.py; benchmark: bench/bench_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from .layout import IMAGE, LA, SCAR
from .nifti_io import write_volume
from .phantom_anatomy import make_anatomy, more_label_noise, smooth_field
from .phantom_style import DEFAULT_STYLE, PhantomStyle, noise_sigma_for

REALISTIC_SHAPE = (576, 576, 44)
REALISTIC_SPACING = (0.625, 0.625, 2.5)


def make_phantom(
    seed: int,
    shape=REALISTIC_SHAPE,
    spacing=REALISTIC_SPACING,
    style: PhantomStyle = DEFAULT_STYLE,
    label_noise: float | None = None,
) -> dict[str, np.ndarray]:
    """One phantom (X, Y, Z): {"image": int16, "la": uint16 (0/420), "scar": uint8 (0/1, the
    annotation with its label noise), "scar_true": bool (the enhanced scar), "wall": bool (the
    2-3 mm LA wall), "la_blood": bool (LA and the whole veins, labelled or not), "enhancing":
    bool (scar-like confounders outside the wall)}.
    label_noise: the scar label at another noise rate with everything else, the image included,
    byte-identical to the default: 0 is the true scar alone; a rate above style.label_noise keeps
    the default's noise blobs and adds more from a separate stream (seed, 1), in the label only
    (phantom_anatomy.more_label_noise); None or style.label_noise is the default."""
    if label_noise is not None and 0 < label_noise < style.label_noise:
        raise ValueError(
            f"label_noise {label_noise}: 0, or at least the style's {style.label_noise} (noise "
            "is only added to or taken out of the default label, so that the image stays)"
        )
    rng = np.random.default_rng(seed)
    a = make_anatomy(rng, shape, spacing, style)
    img = np.full(shape, 0.55, dtype=np.float32)
    img[a["lung"]] = 0.08
    img[a["fat"]] = rng.uniform(*style.fat_intensity)
    img[a["myo"]] = 0.15
    labelled, n = ndimage.label(a["blood"])
    gains = np.concatenate([[1.0], rng.uniform(*style.blood_gain, n)]).astype(np.float32)
    swirl = 1 + style.blood_heterogeneity * smooth_field(rng, shape, spacing, 8.0)
    blood = gains[labelled] * swirl * (1 + style.inflow * a["inflow"])
    img[a["blood"]] = blood[a["blood"]]
    img[a["wall"]] = 0.35
    levels = [
        rng.uniform(*r) for r in (style.aortic_wall, style.annulus, style.annulus, style.spine)
    ]
    kind = a["enhancing_kind"]
    img[a["enhancing"]] = np.asarray(levels, dtype=np.float32)[kind[a["enhancing"]] - 1]
    img[a["scar"]] = rng.uniform(*style.scar_intensity) * (
        1 + 0.1 * smooth_field(rng, shape, spacing, 2.0)[a["scar"]]
    )
    img *= 1 + style.texture * smooth_field(rng, shape, spacing, 2.0)
    slice_sigma = style.slice_fwhm_factor * spacing[2] / 2.355
    img = ndimage.gaussian_filter(
        img, [0.6 / spacing[0], 0.6 / spacing[1], slice_sigma / spacing[2]]
    )
    u, v, w = (
        np.linspace(-1, 1, n, dtype=np.float32).reshape([-1 if a == i else 1 for a in range(3)])
        for i, n in enumerate(shape)
    )
    c = rng.uniform(-style.bias, style.bias, 9)
    shading = rng.uniform(0, style.coil_shading)
    img *= np.exp(
        -shading * (1 - u) / 2  # receive coil on the anterior chest (axis 0): posterior is darker
        + c[0] * u
        + c[1] * v
        + c[2] * w
        + c[3] * u * v
        + c[4] * v * w
        + c[5] * u * w
        + c[6] * (u * u - 1 / 3)
        + c[7] * (v * v - 1 / 3)
        + c[8] * (w * w - 1 / 3)
    )
    sigma = rng.uniform(*noise_sigma_for(style, spacing))
    img = np.hypot(
        img + sigma * rng.standard_normal(shape, dtype=np.float32),
        sigma * rng.standard_normal(shape, dtype=np.float32),
    )
    label = a["scar_label"]
    if label_noise == 0:
        label = a["scar"]
    elif label_noise is not None and label_noise > style.label_noise:
        extra = np.random.default_rng([seed, 1])  # not the image's stream
        label = more_label_noise(extra, a, spacing, label_noise, style)
    return {
        "image": np.round(img * 400).astype(np.int16),
        "la": (a["la"] * 420).astype(np.uint16),
        "scar": label.astype(np.uint8),
        "scar_true": a["scar"],
        "wall": a["wall"],
        "la_blood": a["la_blood"],
        "enhancing": a["enhancing"],
    }


# The world direction (NIfTI RAS: +x patient's right, +y anterior, +z superior) of each voxel
# axis of the phantom: axis 0 anterior, axis 1 the patient's left, axis 2 superior.
AXIS_DIRECTIONS = ((0.0, 1.0, 0.0), (-1.0, 0.0, 0.0), (0.0, 0.0, 1.0))


def affine_for(shape, spacing) -> np.ndarray:
    """(4, 4) voxel -> world mm affine of a phantom grid: the axes of AXIS_DIRECTIONS scaled by
    the spacing, the centre of the volume at the world origin (axis codes A, L, S)."""
    aff = np.eye(4)
    aff[:3, :3] = np.array(AXIS_DIRECTIONS).T * np.asarray(spacing, dtype=float)
    aff[:3, 3] = -aff[:3, :3] @ ((np.asarray(shape, dtype=float) - 1) / 2)
    return aff


def write_phantom_dataset(
    root: str | Path,
    n_task1: int = 6,
    n_task2_only: int = 4,
    shape=REALISTIC_SHAPE,
    spacing=REALISTIC_SPACING,
    seed: int = 0,
    progress: bool = False,
    label_noise: float | None = None,
    truth: str | Path | None = None,
) -> Path:
    """Write task1/ (n_task1 scans, LA + scar) and task2/ (those scans at shuffled indices plus
    n_task2_only LA-only scans) under `root`; returns root. label_noise: the scar labels at that
    rate, the images identical (make_phantom). truth: a folder that gets, per Task 1 scan,
    train_{i}/scar_true.nii.gz (the enhanced scar, no label noise) and enhancing.nii.gz (the
    scar-like confounders outside the wall), uint8 0/1 on the scan's grid."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_task1 + n_task2_only)  # task2 index of each scan
    aff = affine_for(shape, spacing)
    scans = range(n_task1 + n_task2_only)
    if progress:
        from tqdm import tqdm

        scans = tqdm(scans, desc="phantoms", unit="scan")
    for i in scans:
        p = make_phantom(seed * 100_003 + i, shape, spacing, label_noise=label_noise)
        if i < n_task1:
            d = root / "task1" / "train_data" / f"train_{i + 1}"
            write_volume(d / IMAGE, p["image"], aff)
            write_volume(d / LA, p["la"], aff)
            write_volume(d / SCAR, p["scar"], aff)
            if truth is not None:
                t = Path(truth) / f"train_{i + 1}"
                write_volume(t / "scar_true.nii.gz", p["scar_true"].astype(np.uint8), aff)
                write_volume(t / "enhancing.nii.gz", p["enhancing"].astype(np.uint8), aff)
        d = root / "task2" / "train_data" / f"train_{order[i] + 1}"
        write_volume(d / IMAGE, p["image"], aff)
        write_volume(d / LA, p["la"], aff)
    return root
