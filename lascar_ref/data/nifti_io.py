"""NIfTI reading and writing with errors that name the file — docs/design.md §5 (validate before any
long work), brief: "bad input gets a clear error that names the file and the problem".

`read_volume` returns the voxel array in NIfTI voxel order (X, Y, Z), the affine, the header and
the voxel spacing in mm. Every failure raises `DataError` naming the path, expected and found.
Tests: tests/test_data_validation.py
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from ..errors import DataError


@dataclass
class Volume:
    """A 3-D NIfTI volume as read: data (X, Y, Z), affine, header, spacing in mm."""

    path: Path
    data: np.ndarray  # (X, Y, Z)
    affine: np.ndarray  # (4, 4)
    header: nib.Nifti1Header
    spacing_mm: tuple[float, float, float]  # from the affine (the geometry every step uses)
    pixdim_mm: tuple[float, float, float] | None = None  # the header's pixdim, for the qc check


def read_volume(path: str | Path, dtype=np.float32, check_finite: bool = True) -> Volume:
    """Read a 3-D NIfTI file; raise DataError naming `path` if missing, unreadable, not 3-D,
    with non-positive spacing or non-finite voxels."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
    except (
        OSError,
        EOFError,
        zlib.error,
        gzip.BadGzipFile,
        nib.filebasedimages.ImageFileError,
        ValueError,
    ) as e:
        raise DataError(f"{path}: unreadable or truncated NIfTI ({type(e).__name__}: {e})") from e
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise DataError(f"{path}: expected a 3-D volume, found shape {data.shape}")
    affine = np.asarray(img.affine, dtype=np.float64)
    spacing = affine_spacing(affine)  # the voxel sizes the affine implies (docs/design.md §10)
    pixdim = tuple(float(s) for s in img.header.get_zooms()[:3])
    raw = _raw_pixdim(
        path
    )  # nibabel silently replaces a zero pixdim by 1 on load: check the file itself
    if raw is not None and any(not np.isfinite(s) or s <= 0 for s in raw):
        raise DataError(
            f"{path}: voxel spacing must be positive, found pixdim {raw} mm in the header"
        )
    if any(not np.isfinite(s) or s <= 0 for s in spacing):
        raise DataError(
            f"{path}: voxel spacing must be positive, found {spacing} mm from the affine"
        )
    data = data.astype(dtype, copy=False)
    if check_finite and not np.isfinite(data).all():
        n = int((~np.isfinite(data)).sum())
        raise DataError(
            f"{path}: {n} non-finite voxel values (NaN or inf); expected finite intensities"
        )
    return Volume(path, data, affine, img.header, spacing, pixdim)


def affine_spacing(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel sizes in mm implied by a (4, 4) affine: the lengths of its first three columns."""
    return tuple(float(s) for s in np.linalg.norm(np.asarray(affine)[:3, :3], axis=0))


def _raw_pixdim(path: Path) -> tuple[float, float, float] | None:
    """pixdim[1:4] as stored in a NIfTI-1 file, before nibabel's fixes (None for other formats)."""
    try:
        with nib.openers.ImageOpener(str(path)) as f:
            hdr = nib.Nifti1Header.from_fileobj(f, check=False)
    except (
        OSError,
        EOFError,
        ValueError,
        nib.spatialimages.HeaderDataError,
    ):  # not NIfTI-1: use the zooms
        return None
    return tuple(float(s) for s in hdr["pixdim"][1:4])


def write_volume(
    path: str | Path, data: np.ndarray, affine: np.ndarray, header: nib.Nifti1Header | None = None
) -> None:
    """Write (X, Y, Z) data as NIfTI with the given affine (and header, copied), creating parent
    folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    hdr = header.copy() if header is not None else None
    img = nib.Nifti1Image(np.asarray(data), affine, hdr)
    img.set_data_dtype(np.asarray(data).dtype)
    nib.save(img, str(path))
