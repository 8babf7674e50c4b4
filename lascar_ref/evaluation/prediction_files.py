"""A folder of predicted label maps from any model (nnU-Net or another), read and checked —
paper §4.4 (Table 3's nnU-Net row); docs/design.md §14.

One file per validation case, named as nnU-Net names its outputs: `{case}.nii.gz` (or .nii),
where case is our case name with "/" as "_" (data/nnunet_export.nnunet_name). Which value is
which structure (`prediction_mapping`), first that applies:
  --labels la=...,scar=...   as for a dataset (data/label_map.py);
  PRED/dataset.json          nnU-Net copies its dataset.json beside its predictions. With
                             `regions_class_order` (region-based training, as our export), the
                             file holds one value per region, not the training label map: a voxel
                             holds the value of the last region, in that order, whose probability
                             exceeds 0.5, and never 3. It counts in that region only: with our
                             regions [LA, scar] and order [1, 2], LA = the voxels of value 1 and
                             scar = those of value 2. nnU-Net's rule assumes nested regions; the
                             LA and the scar are not (about 95 % of a phantom's scar lies outside
                             the LA label), so reading value 2 as LA too would count the wall's
                             scar as cavity (docs/design.md §14 has the measured cost of both
                             readings). Without regions: its `labels` as for a dataset;
  the dataset's own mapping  a label-map dataset (nnU-Net, Decathlon layout) without the above.
`read_predictions` checks everything before any metric is computed and reports every problem at
once, one line each naming the file: a validation case without a prediction, a file that is not
a validation case of the fold, a file that cannot be read, a shape or affine other than its
image's, a value the mapping does not name. Tests: tests/test_eval_pred.py
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from ..data.decathlon import form_of, read_dataset_json
from ..data.input_checks import AFFINE_ATOL
from ..data.label_map import LabelMap, from_dataset_json, parse_labels, structures_of
from ..data.nifti_io import read_volume
from ..data.nnunet_export import nnunet_name
from ..errors import DataError

ENDINGS = (".nii.gz", ".nii")


def region_mapping(meta: dict, where: str) -> LabelMap:
    """nnU-Net's region-based output values -> LabelMap: value regions_class_order[i] is region
    i (dataset.json's labels other than background, in their order) and only region i."""
    regions = [name for name, v in meta["labels"].items() if structures_of(name) != {"background"}]
    order = meta["regions_class_order"]
    if not isinstance(order, list) or len(order) != len(regions):
        raise DataError(
            f"{where}: regions_class_order {order!r} does not give one value per region "
            f"({', '.join(regions)})"
        )
    found: dict[str, list[float]] = {"la": [], "scar": []}
    for name, value in zip(regions, order, strict=True):
        kinds = structures_of(name) & {"la", "scar"}
        if not kinds:
            raise DataError(
                f"{where}: region {name!r} is neither the LA nor scar by its name; give the "
                f"mapping with --labels la=...,scar=..."
            )
        for kind in kinds:
            found[kind].append(float(value))
    text = ", ".join(f"{v} = {n}" for n, v in zip(regions, order, strict=True))
    return LabelMap(
        tuple(found["la"]), tuple(found["scar"]), (0.0,), f"{where} (nnU-Net regions: {text})"
    )


def prediction_mapping(
    pred_dir: Path, labels: str | None, dataset_labels: LabelMap | None
) -> LabelMap:
    """The mapping of the prediction files' values (module docstring); DataError naming the
    folder when none is known."""
    if labels:
        try:
            return parse_labels(labels)
        except ValueError as e:
            raise DataError(str(e)) from None
    if (Path(pred_dir) / "dataset.json").is_file():
        meta = read_dataset_json(Path(pred_dir))
        where = str(Path(pred_dir) / "dataset.json")
        if "regions_class_order" in meta:
            return region_mapping(meta, where)
        return from_dataset_json(meta["labels"], value_to_name=form_of(meta) == "msd", where=where)
    if dataset_labels is not None:
        return dataset_labels
    raise DataError(
        f"{pred_dir}: no dataset.json beside the predictions and a dataset without a label map, "
        f"so which value is which structure is not known; give --labels la=...,scar=... (the "
        f"values your model writes)"
    )


def _stem(path: Path) -> str | None:
    return next((path.name[: -len(e)] for e in ENDINGS if path.name.endswith(e)), None)


def prediction_files(pred_dir: Path, problems: list[str]) -> dict[str, Path]:
    """stem -> NIfTI file of the folder (other files, e.g. nnU-Net's plans.json, are not
    predictions); two files of one stem is a problem naming both."""
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise DataError(f"{pred_dir}: prediction folder not found")
    found: dict[str, Path] = {}
    for path in sorted(pred_dir.iterdir()):
        stem = _stem(path) if path.is_file() and not path.name.startswith(".") else None
        if stem is None:
            continue
        if stem in found:
            problems.append(f"{path}: a second prediction of case {stem} (first: {found[stem]})")
        found[stem] = path
    return found


def read_predictions(
    pred_dir: Path, val: list, mapping: LabelMap, fold: int
) -> tuple[dict[str, Path], dict[str, dict[str, np.ndarray]]]:
    """({case: file}, {case: {"la", "scar": (X, Y, Z) bool}}) of the validation cases `val`
    (objects with .name and .image, the image file); DataError listing every problem first."""
    problems: list[str] = []
    files = prediction_files(pred_dir, problems)
    expected = {nnunet_name(c.name): c for c in val}
    for stem in sorted(set(expected) - set(files)):
        problems.append(
            f"{Path(pred_dir) / (stem + '.nii.gz')}: missing, the prediction of validation case "
            f"{expected[stem].name} of fold {fold}"
        )
    for stem in sorted(set(files) - set(expected)):
        problems.append(
            f"{files[stem]}: case {stem} is not a validation case of fold {fold} "
            f"(its cases: {', '.join(sorted(expected))})"
        )
    found, masks = {}, {}
    for stem in sorted(set(files) & set(expected)):
        case, path = expected[stem], files[stem]
        try:
            pred = read_volume(path)
            image = nib.load(str(case.image))
            if pred.data.shape != tuple(image.shape):
                raise DataError(
                    f"{path}: shape {pred.data.shape} differs from its image {case.image} "
                    f"{tuple(image.shape)}"
                )
            if not np.allclose(pred.affine, image.affine, atol=AFFINE_ATOL):
                gap = np.abs(pred.affine - image.affine).max()
                raise DataError(
                    f"{path}: affine differs from its image {case.image} (max difference "
                    f"{gap:.4g} mm); a prediction must lie on its scan's grid"
                )
            masks[case.name] = {k: v > 0 for k, v in mapping.masks(pred.data, path).items()}
            found[case.name] = path
        except (DataError, OSError) as e:
            problems.append(str(e))
    if problems:
        raise DataError("\n".join(problems))
    return found, masks
