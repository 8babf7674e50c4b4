"""Table 1 of the paper, held once as data — paper §3.1, Table 1 and Eq. (2); docs/design.md §4.

Each row: operation, parameter ranges (units in the key names), probability P, rationale and
the source of the semantics. Table 1 order is the application order of Eq. (2).
Tests: tests/test_table1_params.py
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Table1Row:
    """One row of Table 1: operation, parameter ranges, probability P, rationale and source."""

    key: str
    operation: str
    ranges: dict = field(hash=False)  # name -> (low, high), sampled uniformly
    p: float
    rationale: str
    source: str


TABLE1: tuple[Table1Row, ...] = (
    Table1Row(
        "bias",
        "Bias Field",
        {"coeff": (0.02, 0.06)},
        0.15,
        "Magnetic field inhomogeneity",
        "Table 1; Legendre degree 3, 20 coefficients, x * exp(field) (MONAI RandBiasField), "
        "docs/design.md §4",
    ),
    Table1Row(
        "elastic",
        "3D Elastic",
        {
            "sigma_vox": (3.0, 5.0),
            "delta_x_vox": (3.0, 6.0),
            "delta_y_vox": (3.0, 6.0),
            "delta_z_vox": (2.0, 5.0),
        },
        0.10,
        "Anatomical deformation",
        "Table 1 (sigma, Delta footnote); per-axis max displacement, docs/design.md §4",
    ),
    Table1Row(
        "rotation",
        "Rotation",
        {"angle_deg": (-15.0, 15.0)},
        0.50,
        "Rigid transformation",
        "Table 1; in-plane about Z, rigid in mm, docs/design.md §4",
    ),
    Table1Row(
        "zoom",
        "Zoom",
        {"zoom": (0.9, 1.1)},
        0.30,
        "Rigid transformation",
        "Table 1; isotropic in mm about the patch centre, > 1 magnifies, docs/design.md §4",
    ),
    Table1Row(
        "blur",
        "Gaussian Blurring",
        {"sigma_vox": (0.5, 1.5)},
        0.20,
        "Reconstruction effect",
        "Table 1; per-axis sigma, truncated at 4 sigma, replicate padding, docs/design.md §4",
    ),
    Table1Row(
        "contrast",
        "Contrast",
        {"gamma": (0.8, 1.3)},
        0.30,
        "Reconstruction effect",
        "Table 1; MONAI RandAdjustContrast formula, docs/design.md §4",
    ),
    Table1Row(
        "shift",
        "Intensity Shift",
        {"offset": (-0.1, 0.1)},
        0.50,
        "Reconstruction effect",
        "Table 1 (0.1); MONAI RandShiftIntensity(offsets=0.1), docs/design.md §4",
    ),
    Table1Row(
        "noise",
        "Gaussian Noise",
        {"std": (0.0, 0.02)},
        0.20,
        "Acquisition effect",
        "Table 1 (mu 0, delta 0.02); std ~ U(0, 0.02) per sample (MONAI RandGaussianNoise), "
        "docs/design.md §4",
    ),
)
ROWS = {row.key: row for row in TABLE1}
ORDER = tuple(row.key for row in TABLE1)
PAPER_P = {row.key: row.p for row in TABLE1}
