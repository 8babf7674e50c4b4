"""A dataset in any of the layouts the field uses — docs/design.md §5.

`open_dataset(root, labels)` recognises the layout (layout.py: LAScarQS `task1/`, `task2/`;
decathlon.py: the Medical Segmentation Decathlon and nnU-Net v2, by their `dataset.json`) and
returns its cases by task: task 1 holds LA + scar cases, task 2 LA-only ones. Which tasks a stage
trains on is the stage table's (`StageSpec.trains_on`, passed in by the caller: Stage I on task 2
when the dataset has it, else on the LA of the task 1 cases; Stages II and III on task 1).
Structural problems (a missing folder, an image without its label, two files for one case,
a label map's channel count) are DataErrors naming the files, raised before any file is read;
with `problems=[]` they are collected instead (the `check` command reports them all).
Tests: tests/test_data_layouts.py, tests/test_train_datasets.py
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError
from .decathlon import decathlon_cases, is_decathlon
from .label_map import LabelMap, parse_labels
from .layout import Case, has_task, ignored_folders, list_cases

LAYOUTS = ("lascarqs", "msd", "nnunet")


@dataclass
class Dataset:
    """The cases of a dataset by task (1: LA + scar, 2: LA only) and how they were found."""

    root: Path
    layout: str  # one of LAYOUTS
    cases: dict[int, list[Case]]
    labels: LabelMap | None = None  # the label mapping of a label-map layout
    ignored: list[str] = field(default_factory=list)  # entries that are not cases, as messages

    def has_task(self, task: int) -> bool:
        return bool(self.cases.get(task))

    def first_task(self, tasks: tuple[int, ...]) -> int | None:
        """The first of `tasks` (a stage's StageSpec.trains_on) the dataset has; None: none."""
        return next((t for t in tasks if self.has_task(t)), None)

    def supported_stages(self, stage_tasks: dict[int, tuple[int, ...]]) -> list[int]:
        """The stages (stage -> tasks it trains on, stage_table.STAGE_TASKS) it can train."""
        return [s for s, tasks in stage_tasks.items() if self.first_task(tasks) is not None]

    def names(self) -> dict[str, int]:
        """Every case name -> its task."""
        return {c.name: t for t, cases in self.cases.items() for c in cases}

    def lines(self, stage_tasks: dict[int, tuple[int, ...]]) -> list[str]:
        """What `check` prints about the layout, the mapping and the stages."""
        out = [f"layout: {self.layout} ({', '.join(self._counts())})"]
        if self.labels is not None:
            out.append(f"label mapping: {self.labels.text()} (from {self.labels.source})")
        stages = self.supported_stages(stage_tasks)
        out.append(f"stages this dataset supports: {', '.join(map(str, stages)) or 'none'}")
        return out

    def _counts(self) -> list[str]:
        what = {1: "LA + scar", 2: "LA only"}
        return [f"{len(c)} {what[t]} cases" for t, c in sorted(self.cases.items()) if c]


def open_dataset(
    root: str | Path,
    labels: str | LabelMap | None = None,
    problems: list[str] | None = None,
) -> Dataset:
    """The dataset at `root`. `labels`: a --labels text or LabelMap (label-map layouts; ignored
    by LAScarQS, whose files are binary). With problems=None the first problem raises a
    DataError; otherwise every problem is appended and the usable cases are returned."""
    root = Path(root)
    found: list[str] = []
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    if isinstance(labels, str):
        try:
            labels = parse_labels(labels)
        except ValueError as e:
            raise DataError(str(e)) from None
    if is_decathlon(root):
        ignored: list[str] = []
        form, cases, mapping = decathlon_cases(root, labels, found, ignored)
        ds = Dataset(root, form, {1 if mapping and mapping.scar else 2: cases}, mapping, ignored)
    elif has_task(root, 1) or has_task(root, 2):
        ds = Dataset(root, "lascarqs", {})
        for task in (1, 2):
            if not has_task(root, task):
                continue
            ds.ignored += [
                f"{d}: not a train_N case folder; ignored" for d in ignored_folders(root, task)
            ]
            try:
                ds.cases[task] = list_cases(root, task)
            except DataError as e:
                found.append(str(e))
    else:
        raise DataError(
            f"{root}: not a dataset: neither task1/train_data nor task2/train_data (LAScarQS) "
            f"nor dataset.json with imagesTr/ and labelsTr/ (Medical Segmentation Decathlon, "
            f"nnU-Net) found"
        )
    if problems is None and found:
        raise DataError(
            found[0]
            + (
                f" (and {len(found) - 1} more problem(s); run python -m "
                f"lascar_ref.data check {root})"
                if len(found) > 1
                else ""
            )
        )
    if problems is not None:
        problems += found
    return ds
