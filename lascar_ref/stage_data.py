"""Training and validation data of a stage and fold — paper §4.1-4.2; docs/design.md §2, §5, §7.

The dataset may be in any layout (data/dataset.py). Stage I trains on the LA-only cases (Task 2)
when the dataset has them, else on the LA of the LA + scar cases; Stages II and III on the LA +
scar cases (Task 1). Every case is validated and preprocessed (cached) before training starts, so
a bad file fails first; copies of one scan, in either task and any form, are grouped by content
(data/groups.py) and a group never spans folds; the groups are reported. A --splits file replaces
the assignment and is checked against the dataset and its groups first (data/splits.py).
Without --data, a phantom dataset is generated once into the cache folder (safe when two runs
start at once). Volumes live on the training device as (1, 1, X, Y, Z) images and (1, 3, X, Y, Z)
labels in labels.LABEL_CHANNELS order (LA, scar or zeros, Eq. 6 wall).
Tests: tests/test_train_e2e.py, tests/test_train_datasets.py, tests/test_data_cache.py
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .augment import foreground_indices
from .config import TrainConfig
from .data import (
    PreprocessConfig,
    Preprocessed,
    preprocess_case,
    split,
    write_phantom_dataset,
)
from .data.dataset import Dataset, open_dataset
from .data.groups import Groups, assign_by_group, group_scans
from .data.orientation import ras_spacing, thick_axis_note
from .data.splits import check_split, read_splits, split_sha256
from .errors import DataError
from .labels import channel, stack_labels
from .stage_table import STAGE_TASKS, STAGES, StageSpec


@dataclass
class CaseTensors:
    """One preprocessed case on the training device."""

    name: str
    image: torch.Tensor  # (1, 1, X, Y, Z) float32
    labels: torch.Tensor  # (1, 3, X, Y, Z) float32: LABEL_CHANNELS (LA, scar, wall)
    fg: torch.Tensor  # (K,) flat indices of the stage target, for label-guided sampling
    pre: Preprocessed


def phantom_root(cfg: TrainConfig) -> Path:
    """The built-in phantom dataset in the cache folder, generated on first use. Each generator
    writes a private temporary folder and renames it into place; when two runs race, the loser
    discards its copy (same seed, same bytes) and nothing is left behind."""
    params = {
        "task1": cfg.phantom_task1,
        "task2_only": cfg.phantom_task2_only,
        "shape": list(cfg.phantom_shape),
        "spacing": list(cfg.phantom_spacing),
        "seed": cfg.seed,
    }
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    root = Path(cfg.cache) / f"phantoms-{key}"
    if root.is_dir():
        return root
    tmp = Path(cfg.cache) / f".tmp-phantoms-{key}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        write_phantom_dataset(
            tmp,
            cfg.phantom_task1,
            cfg.phantom_task2_only,
            cfg.phantom_shape,
            cfg.phantom_spacing,
            seed=cfg.seed,
            progress=cfg.bars,
        )
        os.replace(tmp, root)
    except OSError:
        if not root.is_dir():  # a real failure, not a lost race
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def open_data(cfg: TrainConfig) -> Dataset:
    """--data in any layout (data/dataset.py; --labels for a label map), or the built-in phantom
    dataset; DataError naming the folder and the problem before any file is read."""
    root = phantom_root(cfg) if cfg.data is None else Path(cfg.data)
    return open_dataset(root, cfg.labels)


def require_task(ds: Dataset, spec: StageSpec) -> int:
    """The task the stage trains on (the first of spec.trains_on the dataset has); DataError
    naming what the dataset supports when none."""
    task = ds.first_task(spec.trains_on)
    if task is None:
        supported = ds.supported_stages(STAGE_TASKS)
        raise DataError(
            f"{ds.root}: Stage {spec.number} trains on {spec.needs()}, but the dataset "
            f"({ds.layout}) has none; stages it supports: "
            f"{', '.join(map(str, supported)) or 'none'}"
        )
    return task


def preprocess_config(cfg: TrainConfig) -> PreprocessConfig:
    return PreprocessConfig(cfg.spacing_mm, cfg.size, cfg.delta_in_mm, cfg.delta_out_mm)


def preprocess_all(cfg: TrainConfig, ds: Dataset, say=print) -> dict[int, dict[str, Preprocessed]]:
    """Every case of every task present, validated and preprocessed (cached): task -> name."""
    pcfg, cache = preprocess_config(cfg), Path(cfg.cache) / "preprocessed"
    for message in ds.ignored:
        say(f"warning: {message}")
    pre = {1: {}, 2: {}}
    for t, cases in sorted(ds.cases.items()):
        bar = tqdm(
            cases, desc=f"preprocess task{t}", unit="case", disable=not cfg.bars, leave=False
        )
        pre[t] = {c.name: preprocess_case(c, cache, pcfg) for c in bar}
        for c in cases:  # a sagittal / coronal stack is trained on like an axial one: say so
            meta = pre[t][c.name].meta
            note = thick_axis_note(ras_spacing(np.array(meta["affine"]), meta["raw_spacing_mm"]))
            if note:
                say(f"warning: {c.image}: {note}")
    return pre


@dataclass
class FoldSplit:
    """The dataset's cases, their groups of copies and the fold of each (data/folds.py or a
    --splits file, checked), with the SHA-256 of the assignment a run records."""

    dataset: Dataset
    pre: dict[int, dict[str, Preprocessed]]  # task -> name -> preprocessed case
    groups: Groups
    folds: dict[str, int]  # every case name -> fold
    sha256: str
    source: str  # "seed 0" or the split file

    def cases(self, task: int, fold: int) -> tuple[list[Preprocessed], list[Preprocessed]]:
        """(training, validation) cases of `task` for `fold`."""
        train, val = split({n: self.folds[n] for n in self.pre[task]}, fold)
        return [self.pre[task][n] for n in train], [self.pre[task][n] for n in val]


def fold_split(cfg: TrainConfig, say=print) -> FoldSplit:
    """Open, validate and preprocess the dataset, group copies of one scan by content (all
    tasks, data/groups.py) and assign folds by group, or read and check --splits; the groups
    report is printed (docs/design.md §5)."""
    ds = open_data(cfg)
    pre = preprocess_all(cfg, ds, say)
    names = {n: t for t, cases in pre.items() for n in cases}
    groups = group_scans({n: pre[t][n].fingerprint for n, t in names.items()}, names)
    for line in groups.lines(full=False):  # the usual Task 1 / Task 2 pairs are counted only
        say(line)
    if cfg.splits:
        given = read_splits(cfg.splits)
        check_split(given, names, groups)
        if given.n_folds != cfg.n_folds:
            raise DataError(
                f"{given.path}: {given.n_folds} folds, but the run asks for --n-folds "
                f"{cfg.n_folds}; leave --n-folds out with --splits"
            )
        folds, source = given.folds, str(given.path)
    else:
        folds = assign_by_group(groups, cfg.n_folds, cfg.seed)
        source = f"seed {cfg.seed}"
    return FoldSplit(ds, pre, groups, folds, split_sha256(folds), source)


def fold_cases(
    cfg: TrainConfig, task: int | None = None, stage: int | None = None, say=print
) -> tuple[list[Preprocessed], list[Preprocessed]]:
    """(training, validation) preprocessed cases for cfg.fold: of `task`, or of the task `stage`
    trains on (the stage table: Stage I on task 2 if the dataset has it, else task 1's LA)."""
    fs = fold_split(cfg, say)
    if task is None:
        task = require_task(fs.dataset, STAGES[cfg.stage if stage is None else stage])
    elif not fs.dataset.has_task(task):
        raise DataError(f"{fs.dataset.root}: the dataset has no task {task} cases")
    return fs.cases(task, cfg.fold)


def to_device(p: Preprocessed, target: str, device: torch.device) -> CaseTensors:
    """A cached case -> tensors on `device`; fg: flat indices of the `target` channel."""
    image = torch.from_numpy(np.array(p.image, dtype=np.float32))[
        None, None
    ]  # a copy of the memmap
    labels = stack_labels(p.la, p.scar, p.wall)  # (1, 3, X, Y, Z)
    fg = foreground_indices(labels[0, channel(target)])
    return CaseTensors(p.name, image.to(device), labels.to(device), fg, p)
