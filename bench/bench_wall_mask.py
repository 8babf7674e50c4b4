"""Eq. 6 wall-mask time vs plain scipy EDT of the same mask, same run.

    python bench/bench_wall_mask.py [--repeats 5]

Mask: an LA-like body (ellipsoid, ~90 ml) with four pulmonary-vein tubes and an appendage lobe in a
384x256x40 volume at (0.625, 0.625, 2.5) mm. Reference: one
scipy.ndimage.distance_transform_edt(mask, sampling=spacing) call; the output of ours is
checked equal to thresholding scipy's EDT of the cavity and of its complement (two calls).
Target: ours <= 1.0x one scipy EDT. Figures are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import platform

import numpy as np
from scipy import ndimage
from timing import best_of, ratio_text

from lascar_ref.losses import wall_mask

SPACING = (0.625, 0.625, 2.5)


def la_like_mask(shape=(384, 256, 40)) -> np.ndarray:
    x, y, z = (np.arange(n) * s for n, s in zip(shape, SPACING))
    X, Y, Z = np.meshgrid(x - x.mean(), y - y.mean(), z - z.mean(), indexing="ij")
    la = (X / 30) ** 2 + (Y / 25) ** 2 + (Z / 22) ** 2 <= 1.0
    for cy, cz in (
        (-12, 8),
        (-12, -8),
        (12, 8),
        (12, -8),
    ):  # four veins leaving posteriorly along +X
        la |= ((Y - cy) ** 2 + (Z - cz) ** 2 <= 6.0**2) & (X > 0) & (X < 48)
    la |= ((X + 20) / 12) ** 2 + ((Y - 28) / 9) ** 2 + ((Z - 5) / 9) ** 2 <= 1.0  # appendage
    return la


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    la = la_like_mask()
    t_scipy, d_in = best_of(lambda: ndimage.distance_transform_edt(la, sampling=SPACING), a.repeats)
    t_ours, band = best_of(lambda: wall_mask(la, SPACING), a.repeats)
    d_out = ndimage.distance_transform_edt(~la, sampling=SPACING)
    identical = np.array_equal(band, (d_in <= 3.0) & (d_out <= 2.5))
    print(
        f"# machine: {platform.machine()}, mask {la.shape}, "
        f"LA {la.sum() * np.prod(SPACING) / 1000:.0f} ml, "
        f"band {band.sum()} voxels"
    )
    print(f"scipy EDT (one call): {t_scipy * 1000:8.1f} ms")
    print(f"wall_mask (Eq. 6):    {t_ours * 1000:8.1f} ms")
    print(f"{ratio_text(t_ours, t_scipy, 'scipy')}, identical to scipy thresholds: {identical}")


if __name__ == "__main__":
    main()
