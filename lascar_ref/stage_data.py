"""Training and validation data of a stage and fold — paper §4.1-4.2; docs/design.md §2, §5, §7.

The stage's task comes from the stage table (Stage I: Task 2, LA only; II, III: Task 1). Every
case of the dataset is validated and preprocessed (cached) before training starts, so a bad file
fails first; Task 1 and Task 2 copies of a scan are matched by content (data/fingerprint.py) to
give leak-free folds, and the matching is reported. A dataset with only task2/ trains Stage I.
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
    assign_folds,
    list_cases,
    preprocess_case,
    split,
    write_phantom_dataset,
)
from .data.fingerprint import match_scans
from .data.layout import has_task, ignored_folders, supported_stages
from .errors import DataError
from .labels import channel, stack_labels


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


def data_root(cfg: TrainConfig) -> Path:
    """--data (checked to be a LAScarQS-layout folder) or the built-in phantom dataset."""
    if cfg.data is None:
        return phantom_root(cfg)
    root = Path(cfg.data)
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found (expected task1/ and/or task2/ inside)")
    if not (has_task(root, 1) or has_task(root, 2)):
        raise DataError(f"{root}: neither task1/train_data nor task2/train_data found")
    return root


def require_task(root: Path, stage: int, task: int) -> None:
    """DataError when the stage's task is absent, naming what the dataset supports."""
    if not has_task(root, task):
        what = "LA + scar labels" if task == 1 else "LA labels"
        raise DataError(
            f"{root}: Stage {stage} trains on Task {task} ({what}), but the dataset has "
            f"no task{task}/train_data; stages it supports: "
            f"{', '.join(map(str, supported_stages(root))) or 'none'}"
        )


def preprocess_config(cfg: TrainConfig) -> PreprocessConfig:
    return PreprocessConfig(cfg.spacing_mm, cfg.size, cfg.delta_in_mm, cfg.delta_out_mm)


def preprocess_all(cfg: TrainConfig, root: Path, say=print) -> dict[int, dict[str, Preprocessed]]:
    """Every case of every task present, validated and preprocessed (cached): task -> name."""
    pcfg, cache = preprocess_config(cfg), Path(cfg.cache) / "preprocessed"
    pre = {1: {}, 2: {}}
    for t in (1, 2):
        if not has_task(root, t):
            continue
        for folder in ignored_folders(root, t):
            say(f"warning: {folder}: not a train_N case folder; ignored")
        cases = list_cases(root, t)
        bar = tqdm(
            cases, desc=f"preprocess task{t}", unit="case", disable=not cfg.bars, leave=False
        )
        pre[t] = {c.name: preprocess_case(c, cache, pcfg) for c in bar}
    return pre


def fold_cases(
    cfg: TrainConfig, task: int, stage: int | None = None, say=print
) -> tuple[list[Preprocessed], list[Preprocessed]]:
    """(training, validation) preprocessed cases of `task` (1 or 2) for cfg.fold; prints the
    cross-task matching of the folds (docs/design.md §5)."""
    root = data_root(cfg)
    require_task(root, stage if stage is not None else (2 if task == 1 else 1), task)
    pre = preprocess_all(cfg, root, say)
    report = match_scans(
        {n: p.fingerprint for n, p in pre[1].items()}, {n: p.fingerprint for n, p in pre[2].items()}
    )
    if pre[1] and pre[2]:
        for line in report.lines():
            say(line)
    matches = {name1: name2 for name1, (name2, _) in report.matches.items()}
    folds = assign_folds(list(pre[1]), list(pre[2]), matches, cfg.n_folds, cfg.seed)
    train, val = split(folds[0] if task == 1 else folds[1], cfg.fold)
    return [pre[task][n] for n in train], [pre[task][n] for n in val]


def to_device(p: Preprocessed, target: str, device: torch.device) -> CaseTensors:
    """A cached case -> tensors on `device`; fg: flat indices of the `target` channel."""
    image = torch.from_numpy(np.array(p.image, dtype=np.float32))[
        None, None
    ]  # a copy of the memmap
    labels = stack_labels(p.la, p.scar, p.wall)  # (1, 3, X, Y, Z)
    fg = foreground_indices(labels[0, channel(target)])
    return CaseTensors(p.name, image.to(device), labels.to(device), fg, p)
