"""The knobs of the synthetic LGE phantoms: what makes real LGE hard, one parameter each —
docs/design.md §7.

`PhantomStyle()` (the default, "realistic") lands the realism statistics of realism.py inside the
range of real LGE scans (CNR median <= 1.5, best-threshold LA Dice median <= 0.55, LA volume
30-130 ml). Units: intensities in the
arbitrary units of phantom.py before scaling to int16 (surrounding tissue 0.55); lengths in mm.
Noise is white in space: `noise_sigma` is the per-voxel sigma at a voxel of `noise_voxel_mm3`
(a typical LGE acquisition voxel, 1.25 x 1.25 x 2.5 mm); on another grid the sigma is scaled by
sqrt(noise_voxel_mm3 / voxel volume), as averaging k voxels divides white noise by sqrt(k) (and
a scanner's SNR at a fixed field of view and scan time grows as the square root of the voxel
volume). The same phantom on a finer grid is therefore as hard, not easier — see
`noise_sigma_for` and docs/design.md §7.
Tests: tests/test_data_phantom.py, tests/test_data_realism.py
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PhantomStyle:
    """One phantom generator's settings (every field is a modelled property of LGE MRI)."""

    # anatomy
    la_scale: tuple[float, float] = (0.72, 1.22)  # LA size factor U(a, b): volumes ~30-130 ml
    vein_irregularity: float = 0.35  # relative radius change along a pulmonary vein
    appendage_lobes: tuple[int, int] = (2, 4)  # lobes of the appendage, U{a..b}
    # blood pool
    blood_gain: tuple[float, float] = (0.9, 1.05)  # per-structure blood brightness U(a, b)
    blood_heterogeneity: float = 0.15  # smooth +-relative swirl of the blood signal
    inflow: float = 0.35  # relative brightening of blood near the vein ostia (inflow)
    # scar (in the wall) and its annotation
    scar_intensity: tuple[float, float] = (1.45, 1.75)  # after partial volume: IIR ~1.2-1.4
    scar_coverage: float = -0.3  # threshold of the smooth field that keeps scar (lower: more)
    scar_fragmentation_mm: float = 4.0  # scale of the field that breaks scar into patches
    label_noise: float = 0.08  # target fraction of scar labels outside the wall band (Fig. 2)
    # enhancing structures outside the LA wall (confounders)
    fat_intensity: tuple[float, float] = (0.8, 1.2)  # epicardial fat (no fat suppression)
    aortic_wall: tuple[float, float] = (1.3, 1.7)  # enhancing aortic wall, 1.5-2.5 mm
    annulus: tuple[float, float] = (1.3, 1.7)  # mitral annulus: LV myocardium next to the LA
    myocardial_patches: int = 2  # enhancing LV myocardium patches
    spine: tuple[float, float] = (1.2, 1.6)  # vertebral body (marrow) posterior to the LA
    # acquisition
    coil_shading: float = 0.35  # posterior darkening exp(-g), g ~ U(0, coil_shading)
    bias: float = 0.3  # |c| of the random 1st/2nd-order multiplicative bias field
    noise_sigma: tuple[float, float] = (0.06, 0.10)  # Rician sigma U(a, b) at the voxel below
    noise_voxel_mm3: float = 3.90625  # 1.25 x 1.25 x 2.5 mm: where noise_sigma holds (docstring)
    texture: float = 0.08  # relative smooth tissue texture
    slice_fwhm_factor: float = 1.0  # slice profile FWHM as a multiple of the slice spacing


DEFAULT_STYLE = PhantomStyle()


def noise_sigma_for(style: PhantomStyle, spacing) -> tuple[float, float]:
    """The Rician sigma range U(a, b) on a grid of this spacing (mm): `style.noise_sigma` scaled by
    sqrt(style.noise_voxel_mm3 / voxel volume) (white noise, see the module docstring)."""
    voxel = float(spacing[0]) * float(spacing[1]) * float(spacing[2])
    k = (style.noise_voxel_mm3 / voxel) ** 0.5
    return (style.noise_sigma[0] * k, style.noise_sigma[1] * k)
