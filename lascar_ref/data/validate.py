"""Input validation before any long work — docs/design.md §5.

Checks per case: every file present and readable, 3-D, finite intensities, positive spacing,
image and labels of equal shape and affine, non-empty LA. `load_case` raises the first problem
as a DataError naming the file; `check_dataset` collects every problem of a dataset at once
(`python -m lascar_ref.data check DIR`), with the stages the dataset supports and how its Task 1
scans match Task 2 (docs/design.md §5). Tests: tests/test_data_validation.py,
tests/test_train_datasets.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .fingerprint import fingerprint, match_scans
from .layout import Case, has_task, ignored_folders, list_cases, supported_stages
from .nifti_io import DataError, Volume, read_volume

AFFINE_ATOL = 1e-3  # mm; header round-off between image and label files is tolerated


def _match(img: Volume, lab: Volume) -> None:
    if lab.data.shape != img.data.shape:
        raise DataError(
            f"{lab.path}: label shape {lab.data.shape} differs from image {img.path.name} "
            f"shape {img.data.shape}"
        )
    if not np.allclose(lab.affine, img.affine, atol=AFFINE_ATOL):
        raise DataError(
            f"{lab.path}: label affine differs from image {img.path.name} affine "
            f"(max difference {np.abs(lab.affine - img.affine).max():.4g} mm)"
        )


def load_case(case: Case) -> tuple[Volume, Volume, Volume | None]:
    """Read and validate one case -> (image, LA, scar or None); labels binarised (> 0) as uint8.
    Deviation (the paper says nothing of label values): any value > 0 is the structure, since
    LAScarQS stores the LA as 420 and scar as 1 (docs/design.md §0)."""
    img = read_volume(case.image)
    la = read_volume(case.la)
    _match(img, la)
    la.data = (la.data > 0).astype(np.uint8)
    if not la.data.any():
        raise DataError(
            f"{case.la}: the LA label is empty (no voxel > 0); expected a segmented LA cavity"
        )
    scar = None
    if case.scar is not None:
        scar = read_volume(case.scar)
        _match(img, scar)
        scar.data = (scar.data > 0).astype(np.uint8)
    return img, la, scar


def check_dataset(root: str | Path, tasks=(1, 2), info: list[str] | None = None) -> list[str]:
    """Every problem of a dataset, one message per problem (empty list: all good). A dataset may
    hold one task only (Task 2 alone: Stage I). `info`, if given, receives the stages the dataset
    supports and the cross-task fold matching report (fingerprint.py)."""
    root = Path(root)
    present = [t for t in tasks if has_task(root, t)]
    if not present:
        return [f"{root}: neither task1/train_data nor task2/train_data found (LAScarQS layout)"]
    problems, prints = [], {t: {} for t in present}
    for task in present:
        problems += [
            f"{d}: not a train_N case folder; ignored" for d in ignored_folders(root, task)
        ]
        try:
            cases = list_cases(root, task)
        except DataError as e:
            problems.append(str(e))
            continue
        for case in cases:
            try:
                img, _, _ = load_case(case)
                prints[task][case.name] = fingerprint(img.data, img.affine)
            except DataError as e:
                problems.append(str(e))
    if info is not None:
        stages = supported_stages(root)
        info.append(f"stages this dataset supports: {', '.join(map(str, stages)) or 'none'}")
        if 1 in present and 2 in present:
            info += match_scans(prints[1], prints[2]).lines()
    return problems
