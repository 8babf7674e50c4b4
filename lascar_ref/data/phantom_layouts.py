"""Phantoms in the Medical Segmentation Decathlon and nnU-Net v2 layouts — docs/design.md §5, §7.

The LA + scar phantoms of phantom.py (the same seeds, so the same scans as the LAScarQS layout's
Task 1) written with one label map per case: 1 = LA, 2 = scar outside the LA label, 3 = scar
inside it, so both structures are recovered exactly by la = 1,3 and scar = 2,3 (the multi-value
mapping of label_map.py). dataset.json names them so that the mapping is read from the names:
nnU-Net v2 as regions ({"LA": [1, 3], "scar": [2, 3]}, with "regions_class_order"), the Decathlon
as value -> name ({"3": "left atrium + scar"}). These layouts hold one collection, so there are no
LA-only phantoms: Stage I trains on the cases' LA. Tests: tests/test_data_layouts.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .nifti_io import write_volume
from .phantom import REALISTIC_SHAPE, REALISTIC_SPACING, affine_for, make_phantom

LAYOUT_FORMS = ("msd", "nnunet")
LA_ONLY, SCAR_OUTSIDE, SCAR_INSIDE = 1, 2, 3


def label_map(la: np.ndarray, scar: np.ndarray) -> np.ndarray:
    """(X, Y, Z) LA and scar masks -> one uint8 label map: 0, LA_ONLY, SCAR_OUTSIDE, SCAR_INSIDE."""
    la, scar = np.asarray(la) > 0, np.asarray(scar) > 0
    out = np.zeros(la.shape, dtype=np.uint8)
    out[la & ~scar] = LA_ONLY
    out[scar & ~la] = SCAR_OUTSIDE
    out[scar & la] = SCAR_INSIDE
    return out


def dataset_json(form: str, names: list[str]) -> dict:
    """dataset.json of a phantom dataset in `form`."""
    if form == "nnunet":
        return {
            "name": "lascar_ref phantoms",
            "channel_names": {"0": "LGE"},
            "labels": {
                "background": 0,
                "LA": [LA_ONLY, SCAR_INSIDE],
                "scar": [SCAR_OUTSIDE, SCAR_INSIDE],
            },
            "regions_class_order": [1, 2],
            "numTraining": len(names),
            "file_ending": ".nii.gz",
        }
    return {
        "name": "lascar_ref phantoms",
        "modality": {"0": "MRI"},
        "labels": {"0": "background", "1": "left atrium", "2": "scar", "3": "left atrium + scar"},
        "numTraining": len(names),
        "training": [
            {"image": f"./imagesTr/{n}.nii.gz", "label": f"./labelsTr/{n}.nii.gz"} for n in names
        ],
        "test": [],
    }


def write_layout_phantoms(
    root: str | Path,
    form: str,
    n_cases: int = 6,
    shape=REALISTIC_SHAPE,
    spacing=REALISTIC_SPACING,
    seed: int = 0,
    progress: bool = False,
) -> Path:
    """Write n_cases LA + scar phantoms under `root` in `form` ("msd" or "nnunet"); returns
    root. Case i is the scan of LAScarQS-layout phantom task1/train_{i+1} of the same seed."""
    if form not in LAYOUT_FORMS:
        raise ValueError(f"layout {form!r}: expected one of {LAYOUT_FORMS}")
    root = Path(root)
    aff = affine_for(shape, spacing)
    names = [f"phantom_{i + 1:03d}" for i in range(n_cases)]
    scans = range(n_cases)
    if progress:
        from tqdm import tqdm

        scans = tqdm(scans, desc="phantoms", unit="scan")
    suffix = "_0000" if form == "nnunet" else ""
    for i in scans:
        p = make_phantom(seed * 100_003 + i, shape, spacing)
        write_volume(root / "imagesTr" / f"{names[i]}{suffix}.nii.gz", p["image"], aff)
        write_volume(root / "labelsTr" / f"{names[i]}.nii.gz", label_map(p["la"], p["scar"]), aff)
    (root / "dataset.json").write_text(json.dumps(dataset_json(form, names), indent=1) + "\n")
    return root
