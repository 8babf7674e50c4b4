"""Our folds and our LA + scar cases in nnU-Net v2's raw format — paper §4.4 (Table 3's nnU-Net
row, trained on the same folds); docs/design.md §5, §14.

nnU-Net trains on one label set, so only the LA + scar cases (Task 1) are written; it cannot use
the LA-only scans our Stage I trains on. `export_nnunet(DATA, OUT)` writes
  OUT/dataset.json         regions {"LA": [1, 3], "scar": [2, 3]}, regions_class_order [1, 2]
  OUT/imagesTr/NAME_0000.nii.gz, OUT/labelsTr/NAME.nii.gz
                           the image as stored; one label map per case (1 = LA only, 2 = scar
                           outside the LA, 3 = scar inside it: both masks recovered exactly)
  OUT/splits_final.json    our fold assignment of those cases, in nnU-Net's form (fold k = the
                           k-th entry); copy it into nnUNet_preprocessed/DatasetNNN_NAME/
  OUT/lascar_ref_cases.json  NAME -> our case name, the dataset root, the SHA-256 of the whole
                           assignment the folds came from (split_sha256 of every case) and of
                           the Task 1 part written
NAME = `nnunet_name(case)`: our case name with "/" as "_" (task1/train_3 -> task1_train_3; a case
of an nnU-Net or Decathlon dataset keeps its name), one to one; eval.py --pred reads predictions
by the same name, so nnU-Net's predictions pair with our recipes' cases by name.
Tests: tests/test_eval_pred.py
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import Dataset
from .input_checks import load_case
from .nifti_io import write_volume
from .phantom_layouts import dataset_json, label_map
from .splits import split_sha256

MAPPING = "lascar_ref_cases.json"


def nnunet_name(case: str) -> str:
    """Our case name as an nnU-Net case name (and a prediction file's stem): "/" -> "_"."""
    return case.replace("/", "_")


def nnunet_entries(folds: dict[str, int], n_folds: int, rename=lambda n: n) -> list[dict]:
    """nnU-Net's splits_final.json list: entry k = {"train": the other folds' cases, "val": fold
    k's}, names sorted and passed through `rename`."""
    return [
        {
            "train": sorted(rename(n) for n, f in folds.items() if f != k),
            "val": sorted(rename(n) for n, f in folds.items() if f == k),
        }
        for k in range(n_folds)
    ]


def write_nnunet_splits(path: str | Path, folds: dict[str, int], n_folds: int, rename=None):
    """Write `folds` as nnU-Net's splits_final.json (data/splits.read_splits reads it back)."""
    entries = nnunet_entries(folds, n_folds, rename or (lambda n: n))
    Path(path).write_text(json.dumps(entries, indent=1) + "\n")


def export_nnunet(ds: Dataset, folds: dict[str, int], n_folds: int, out: str | Path) -> dict:
    """Write the Task 1 cases of `ds` and their folds (`folds`: every case's fold, as training
    assigns them) as an nnU-Net raw dataset in `out`; returns the mapping written to MAPPING.
    DataError when the dataset has no LA + scar cases, or two cases share an nnU-Net name."""
    cases = ds.cases.get(1, [])
    if not cases:
        raise DataError(
            f"{ds.root}: no LA + scar cases (Task 1); nnU-Net's dataset needs both labels"
        )
    names = {nnunet_name(c.name): c for c in cases}
    if len(names) != len(cases):
        raise DataError(f"{ds.root}: two cases share one nnU-Net name ('/' read as '_')")
    out = Path(out)
    for name, case in names.items():
        img, la, scar = load_case(case)
        image_file = out / "imagesTr" / f"{name}_0000.nii.gz"
        image_file.parent.mkdir(parents=True, exist_ok=True)
        if str(case.image).endswith(".nii.gz"):
            shutil.copyfile(case.image, image_file)  # the scan as stored, header and all
        else:
            write_volume(image_file, np.asarray(img.data), img.affine, img.header)
        labels = label_map(la.data, scar.data)  # (X, Y, Z) uint8, 0..3
        write_volume(out / "labelsTr" / f"{name}.nii.gz", labels, img.affine)
    meta = dataset_json("nnunet", sorted(names))
    meta["name"] = f"lascar_ref export of {Path(ds.root).resolve().name}"
    (out / "dataset.json").write_text(json.dumps(meta, indent=1) + "\n")
    task1 = {c.name: folds[c.name] for c in cases}
    write_nnunet_splits(out / "splits_final.json", task1, n_folds, nnunet_name)
    mapping = {
        "format": "lascar_ref-nnunet-export",
        "dataset": str(Path(ds.root).resolve()),
        "n_folds": n_folds,
        "split_sha256": split_sha256(folds),
        "task1_split_sha256": split_sha256(task1),
        "cases": {name: c.name for name, c in sorted(names.items())},
    }
    (out / MAPPING).write_text(json.dumps(mapping, indent=1) + "\n")
    return mapping
