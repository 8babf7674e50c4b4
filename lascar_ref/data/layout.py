"""LAScarQS 2022 folder layout, and the Case of every layout — docs/design.md §5.

  task1/train_data/train_N/{enhanced, atriumSegImgMO, scarSegImgM}.nii.gz   (LA + scar)
  task2/train_data/train_N/{enhanced, atriumSegImgMO}.nii.gz                 (LA only)
Labels are binarised with > 0 (LA is stored as 420, scar as 0/1). Folders of a task that are not
named train_N are reported (`ignored_folders`), never dropped silently.
Tests: tests/test_data_validation.py, tests/test_train_datasets.py
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .label_map import LabelMap
from .nifti_io import DataError

IMAGE, LA, SCAR = "enhanced.nii.gz", "atriumSegImgMO.nii.gz", "scarSegImgM.nii.gz"


@dataclass(frozen=True)
class Case:
    """The files of one case."""

    task: int  # 1 (LA + scar) or 2 (LA only)
    name: str  # "task1/train_7"
    image: Path
    la: Path
    scar: Path | None  # None for Task 2
    labels: LabelMap | None = None  # a label map's values (decathlon.py); None: binary files


def _number(p: Path) -> int:
    m = re.fullmatch(r"train_(\d+)", p.name)
    return int(m[1]) if m else -1


def has_task(root: str | Path, task: int) -> bool:
    """Whether the dataset root holds a task{task}/train_data folder."""
    return (Path(root) / f"task{task}" / "train_data").is_dir()


def ignored_folders(root: str | Path, task: int) -> list[Path]:
    """Entries of task{task}/train_data that are not train_N case folders."""
    folder = Path(root) / f"task{task}" / "train_data"
    if not folder.is_dir():
        return []
    return sorted(d for d in folder.iterdir() if _number(d) < 0 or not d.is_dir())


def require_files(case: Case) -> None:
    """DataError naming the first missing file of a case."""
    for path in (case.image, case.la, case.scar):
        if path is not None and not Path(path).is_file():
            raise DataError(f"{path}: file not found (case {case.name})")


def list_cases(root: str | Path, task: int) -> list[Case]:
    """Cases of one task under the dataset root, ordered by N; DataError if the task folder is
    missing. Other folders are not cases: see ignored_folders."""
    root = Path(root)
    folder = root / f"task{task}" / "train_data"
    if not folder.is_dir():
        raise DataError(
            f"{folder}: task{task} folder not found under dataset root {root} "
            f"(expected task{task}/train_data/train_N/...)"
        )
    dirs = sorted((d for d in folder.iterdir() if d.is_dir() and _number(d) >= 0), key=_number)
    if not dirs:
        raise DataError(f"{folder}: no train_N case folders")
    return [
        Case(task, f"task{task}/{d.name}", d / IMAGE, d / LA, d / SCAR if task == 1 else None)
        for d in dirs
    ]
