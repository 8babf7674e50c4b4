"""The Medical Segmentation Decathlon and nnU-Net v2 layouts — docs/design.md §5.

  DATASET/dataset.json, DATASET/imagesTr/, DATASET/labelsTr/ (and imagesTs/ for prediction)
  nnU-Net v2:  imagesTr/CASE_0000.nii.gz (one channel, suffix _0000), labelsTr/CASE.nii.gz;
               dataset.json: "channel_names", "labels" as name -> value (or a list of values, a
               region), "file_ending"
  Decathlon:   imagesTr/CASE.nii.gz, labelsTr/CASE.nii.gz; dataset.json: "modality", "labels"
               as value -> name, "training": [{"image": ..., "label": ...}]
One label map per case holds the structures; the mapping (label_map.py) comes from --labels or
from dataset.json's label names. A dataset whose mapping names scar gives LA + scar cases (task 1:
every stage; Stage I reads their LA); one without scar gives LA-only cases (task 2: Stage I).
Before any preprocessing, each of these is an error naming the files: a channel count other than
1, an image without its label or the reverse, two files for one case name, a `training` entry
whose file is missing. Other entries are reported as ignored; hidden files (macOS
"._CASE.nii.gz") are skipped. Tests: tests/test_data_layouts.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import DataError
from .label_map import LabelMap, from_dataset_json
from .layout import Case

NIFTI = (".nii.gz", ".nii")
CHANNEL = re.compile(r"(.+)_(\d{4})$")


def is_decathlon(root: str | Path) -> bool:
    """Whether `root` holds a dataset.json (the Decathlon / nnU-Net layouts)."""
    return (Path(root) / "dataset.json").is_file()


def read_dataset_json(root: Path) -> dict:
    path = root / "dataset.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: unreadable dataset.json ({type(e).__name__}: {e})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("labels"), dict):
        raise DataError(f"{path}: expected a JSON object with a 'labels' object")
    return meta


def form_of(meta: dict) -> str:
    """ "nnunet" (channel_names) or "msd" (modality; labels keyed by value)."""
    if "channel_names" in meta:
        return "nnunet"
    return "msd"


def _stem(name: str) -> str | None:
    for ending in NIFTI:
        if name.endswith(ending):
            return name[: -len(ending)]
    return None


def _nifti_files(folder: Path, ignored: list[str]) -> list[Path]:
    """NIfTI files of a folder; other entries go to `ignored` (messages). Hidden files (".x",
    macOS "._x.nii.gz" copies in the Decathlon's archives) are skipped: they are not scans."""
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if not p.is_file() or _stem(p.name) is None:
            ignored.append(f"{p}: not a NIfTI case file; ignored")
        else:
            out.append(p)
    return out


DUPLICATE = Path("<several files>")  # the file of a case name given twice


def _by_case(files: list[Path], case_of, problems: list[str]) -> dict[str, Path]:
    """case name -> file; two files for one name is a problem naming both, and the case maps to
    DUPLICATE (which file is meant is not known), so it is neither paired nor read."""
    found: dict[str, list[Path]] = {}
    for p in files:
        name = case_of(p)
        if name is not None:
            found.setdefault(name, []).append(p)
    for name, paths in found.items():
        if len(paths) > 1:
            problems.append(f"{', '.join(map(str, paths))}: two files for case {name!r}")
    return {name: paths[0] if len(paths) == 1 else DUPLICATE for name, paths in found.items()}


def decathlon_cases(
    root: Path, labels: LabelMap | None, problems: list[str], ignored: list[str]
) -> tuple[str, list[Case], LabelMap | None]:
    """(form, cases, mapping) of a dataset.json dataset; problems and ignored entries are
    appended (the caller raises the first problem, or reports them all)."""
    meta = read_dataset_json(root)
    form = form_of(meta)
    where = str(root / "dataset.json")
    channels = meta.get("channel_names" if form == "nnunet" else "modality", {"0": "LGE"})
    if not isinstance(channels, dict) or len(channels) != 1:
        problems.append(
            f"{where}: {len(channels) if isinstance(channels, dict) else '?'} image channels "
            f"({channels}); lascar_ref reads one LGE channel"
        )
    mapping = labels
    if mapping is None:
        try:
            mapping = from_dataset_json(meta["labels"], value_to_name=form == "msd", where=where)
        except DataError as e:
            problems.append(str(e))
    images_dir, labels_dir = root / "imagesTr", root / "labelsTr"
    for folder in (images_dir, labels_dir):
        if not folder.is_dir():
            problems.append(
                f"{folder}: folder not found ({form} layout needs imagesTr/, labelsTr/)"
            )
    images = _images(root, meta, form, problems, ignored)
    label_files = _by_case(_nifti_files(labels_dir, ignored), lambda p: _stem(p.name), problems)
    for name in sorted(set(images) - set(label_files)):
        problems.append(f"{images[name]}: image without a label (no labelsTr/{name}.nii.gz)")
    for name in sorted(set(label_files) - set(images)):
        suffix = "_0000" if form == "nnunet" else ""
        problems.append(
            f"{label_files[name]}: label without an image (no imagesTr/{name}{suffix}.nii.gz)"
        )
    if mapping is None:
        return form, [], None
    task = 1 if mapping.scar else 2
    paired = set(images) & set(label_files)
    paired -= {n for n in paired if DUPLICATE in (images[n], label_files[n])}
    cases = [
        Case(
            task,
            name,
            images[name],
            label_files[name],
            label_files[name] if task == 1 else None,
            mapping,
        )
        for name in sorted(paired)
    ]
    return form, cases, mapping


def _images(root: Path, meta: dict, form: str, problems: list[str], ignored) -> dict[str, Path]:
    """case name -> image file: nnU-Net's CASE_0000 files, or the Decathlon's `training` list
    (else the imagesTr files)."""
    files = _nifti_files(root / "imagesTr", ignored)
    if form == "nnunet":

        def case_of(p: Path) -> str | None:
            m = CHANNEL.fullmatch(_stem(p.name))
            if m is None:
                ignored.append(f"{p}: not named CASE_0000.nii.gz (nnU-Net); ignored")
                return None
            if m[2] != "0000":
                problems.append(f"{p}: image channel {m[2]}, but lascar_ref reads one channel")
                return None
            return m[1]

        return _by_case(files, case_of, problems)
    training = meta.get("training")
    if not isinstance(training, list):
        return _by_case(files, lambda p: _stem(p.name), problems)
    listed: dict[str, Path] = {}
    for entry in training:
        image = root / str(entry.get("image", "")) if isinstance(entry, dict) else None
        if image is None or _stem(image.name) is None:
            problems.append(f"{root / 'dataset.json'}: training entry {entry!r} has no image file")
            continue
        name = _stem(image.name)
        if name in listed:
            problems.append(f"{root / 'dataset.json'}: case {name!r} is listed twice in training")
        elif not image.is_file():
            problems.append(f"{image}: file not found (listed in dataset.json's training)")
        else:
            listed[name] = image
    for p in files:
        if _stem(p.name) not in listed:
            ignored.append(f"{p}: not in dataset.json's training list; ignored")
    return listed
