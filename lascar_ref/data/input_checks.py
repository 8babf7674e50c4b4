"""Input validation before any long work — docs/design.md §5.

Checks per case: every file present and readable, 3-D, finite intensities, positive spacing,
image and labels of equal shape and affine, label values named by the mapping (label maps),
non-empty LA; a scan whose thickest axis is not the slice axis is a warning, not a problem
(orientation.thick_axis_note). `load_case` raises the first problem as a DataError naming the file;
`check_dataset` collects every problem of a dataset at once (`python -m lascar_ref.data check
DIR`), in any layout (dataset.py), with the label mapping, the stages the dataset supports and the
fold groups of its scans (groups.py). Tests: tests/test_data_validation.py,
tests/test_train_datasets.py, tests/test_data_layouts.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import open_dataset
from .fingerprint import fingerprint
from .groups import group_scans
from .label_map import LabelMap
from .layout import Case
from .nifti_io import DataError, Volume, read_volume
from .orientation import ras_spacing, thick_axis_note

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
    """Read and validate one case -> (image, LA, scar or None); labels as uint8 {0, 1}.
    Binary files (LAScarQS): any value > 0 is the structure. Deviation (the paper says nothing
    of label values): LAScarQS stores the LA as 420 and scar as 1 (docs/design.md §0). A label
    map (case.labels, label_map.py): the mapping's values, and a value it does not name is a
    DataError naming the file."""
    img = read_volume(case.image)
    la = read_volume(case.la)
    _match(img, la)
    scar = None
    if case.labels is not None:
        masks = case.labels.masks(la.data, case.la)
        if case.scar is not None:
            scar = Volume(la.path, masks["scar"], la.affine, la.header, la.spacing_mm)
        la.data = masks["la"]
    else:
        la.data = (la.data > 0).astype(np.uint8)
        if case.scar is not None:
            scar = read_volume(case.scar)
            _match(img, scar)
            scar.data = (scar.data > 0).astype(np.uint8)
    if not la.data.any():
        what = f"values {case.labels.text()}" if case.labels is not None else "voxel > 0"
        raise DataError(
            f"{case.la}: the LA label is empty (no {what}); expected a segmented LA cavity"
        )
    return img, la, scar


def read_structure(source: dict, name: str) -> np.ndarray:
    """A ground-truth mask (X, Y, Z) bool as stored, from a preprocessed case's meta["source"]
    (the files and, for a label map, the mapping): evaluation on the original grid."""
    data = read_volume(source[name], check_finite=False).data
    if source.get("labels"):
        return LabelMap.from_json(source["labels"]).masks(data, source[name])[name] > 0
    return data > 0


def check_dataset(
    root: str | Path,
    labels: str | None = None,
    info: list[str] | None = None,
    stage_tasks: dict[int, tuple[int, ...]] | None = None,
) -> list[str]:
    """Every problem of a dataset, one message per problem (empty list: all good), in any
    layout (dataset.py). `info`, if given, receives the layout, the label mapping, the stages the
    dataset supports (of `stage_tasks`, stage_table.STAGE_TASKS) and the fold groups of its scans
    (groups.py)."""
    problems: list[str] = []
    try:
        ds = open_dataset(root, labels, problems)
    except DataError as e:
        return [str(e)]
    problems += ds.ignored
    prints, tasks = {}, {}
    for task, cases in ds.cases.items():
        for case in cases:
            try:
                img, _, _ = load_case(case)
            except DataError as e:
                problems.append(str(e))
                continue
            prints[case.name], tasks[case.name] = fingerprint(img.data, img.affine), task
            note = thick_axis_note(ras_spacing(img.affine, img.spacing_mm))
            if note and info is not None:
                info.append(f"warning: {case.image}: {note}")
    if info is not None:
        info += ds.lines(stage_tasks or {})
        info += group_scans(prints, tasks).lines()
    return problems
