"""LAScarQS 2022 folder layout — docs/design.md §5.

  task1/train_data/train_N/{enhanced, atriumSegImgMO, scarSegImgM}.nii.gz   (LA + scar)
  task2/train_data/train_N/{enhanced, atriumSegImgMO}.nii.gz                 (LA only)
Labels are binarised with > 0 (LA is stored as 420, scar as 0/1).
Tests: tests/test_data_validation.py
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

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


def _number(p: Path) -> int:
    m = re.fullmatch(r"train_(\d+)", p.name)
    return int(m[1]) if m else -1


def has_task(root: str | Path, task: int) -> bool:
    """Whether the dataset root holds a task{task}/train_data folder."""
    return (Path(root) / f"task{task}" / "train_data").is_dir()


def list_cases(root: str | Path, task: int) -> list[Case]:
    """Cases of one task under the dataset root, ordered
    by N; DataError if the task folder is missing."""
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
