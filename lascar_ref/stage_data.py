"""Training and validation data of a stage and fold — paper §4.1-4.2; docs/design.md §2, §5, §7.

The stage's task comes from the stage table (Stage I: Task
2, LA only; II, III: Task 1). Every case of both tasks is
validated and preprocessed (cached) before training starts, so a bad file fails first, and the
voxel hashes of both tasks give leak-free folds. Without --data, a phantom dataset is generated
once into the cache folder. Volumes live on the training device as (1, 1, X, Y, Z) images and
(1, 3, X, Y, Z) labels in labels.LABEL_CHANNELS order (LA, scar or zeros, Eq. 6 wall).
Tests: tests/test_train_e2e.py
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
from .data.nifti_io import DataError
from .labels import channel, stack_labels


@dataclass
class CaseTensors:
    """One preprocessed case on the training device."""

    name: str
    image: torch.Tensor  # (1, 1, X, Y, Z) float32
    labels: torch.Tensor  # (1, 3, X, Y, Z) float32: LABEL_CHANNELS (LA, scar, wall)
    fg: torch.Tensor  # (K,) flat indices of the stage target, for label-guided sampling
    pre: Preprocessed


def data_root(cfg: TrainConfig) -> Path:
    """--data, or the built-in phantom dataset (generated once, atomically) in the cache folder."""
    if cfg.data is not None:
        root = Path(cfg.data)
        if not root.is_dir():
            raise DataError(f"{root}: dataset folder not found (expected task1/ and task2/ inside)")
        return root
    params = {
        "task1": cfg.phantom_task1,
        "task2_only": cfg.phantom_task2_only,
        "shape": list(cfg.phantom_shape),
        "spacing": list(cfg.phantom_spacing),
        "seed": cfg.seed,
    }
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    root = Path(cfg.cache) / f"phantoms-{key}"
    if not root.is_dir():
        tmp = Path(cfg.cache) / f".tmp-phantoms-{key}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        write_phantom_dataset(
            tmp,
            cfg.phantom_task1,
            cfg.phantom_task2_only,
            cfg.phantom_shape,
            cfg.phantom_spacing,
            seed=cfg.seed,
            progress=cfg.progress,
        )
        os.replace(tmp, root)
    return root


def preprocess_config(cfg: TrainConfig) -> PreprocessConfig:
    return PreprocessConfig(cfg.spacing_mm, cfg.size, cfg.delta_in_mm, cfg.delta_out_mm)


def fold_cases(cfg: TrainConfig, task: int) -> tuple[list[Preprocessed], list[Preprocessed]]:
    """(training, validation) preprocessed cases of `task` (1 or 2) for cfg.fold."""
    root = data_root(cfg)
    pcfg = preprocess_config(cfg)
    cache = Path(cfg.cache) / "preprocessed"
    pre = {}
    for t in (1, 2):
        cases = list_cases(root, t)
        bar = tqdm(
            cases, desc=f"preprocess task{t}", unit="case", disable=not cfg.progress, leave=False
        )
        pre[t] = {c.name: preprocess_case(c, cache, pcfg) for c in bar}
    hashes = {t: {n: p.meta["voxel_hash"] for n, p in pre[t].items()} for t in (1, 2)}
    folds = assign_folds(hashes[1], hashes[2], cfg.n_folds, cfg.seed)
    train, val = split(folds[0] if task == 1 else folds[1], cfg.fold)
    return [pre[task][n] for n in train], [pre[task][n] for n in val]


def to_device(p: Preprocessed, target: str, device: torch.device) -> CaseTensors:
    """A cached case -> tensors on `device`; fg: flat
    indices of the `target` channel ("la"/"scar")."""
    image = torch.from_numpy(np.array(p.image, dtype=np.float32))[None, None].to(
        device
    )  # a copy of the memmap
    labels = stack_labels(p.la, p.scar, p.wall)  # (1, 3, X, Y, Z)
    fg = foreground_indices(labels[0, channel(target)])
    return CaseTensors(p.name, image, labels.to(device), fg, p)
