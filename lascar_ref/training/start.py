"""What a stage run does before its first epoch — paper §4.2; docs/design.md §2, §8.

`take_out_folder`: --out writable and its lock held (one writer per --out). `fold_tensors`: the
fold's training and validation cases on the device, from the task the stage table says the stage
trains on. `check_split`: --resume continues on the fold assignment it started with.
`log_start`: the start record (loaded / new / frozen groups, each group's lr, the fold
assignment), printed and logged.
Tests: tests/test_train_resume.py, tests/test_stage_protection.py, tests/test_run_lock.py
"""

from __future__ import annotations

import contextlib

from ..config import TrainConfig
from ..errors import CheckpointError
from ..inference.input_stats import content, reference
from ..run_log import log_record
from ..runtime import rank_zero
from ..stage_data import fold_split, require_task, to_device
from ..stage_table import StageSpec
from .head_init import scar_prior
from .report import start_line
from .run_lock import RunLock, check_writable
from .setup import Run


def take_out_folder(cfg: TrainConfig, say, held: contextlib.ExitStack) -> None:
    """Check that --out is writable and hold its lock for the run (rank 0 only under torchrun)."""
    check_writable(cfg.out)
    held.enter_context(RunLock(cfg.out, say))


def fold_tensors(cfg: TrainConfig, spec: StageSpec, device, say, world) -> tuple[list, list, dict]:
    """The fold's training and validation cases on `device` (rank 0 fills the cache first) and
    where the fold assignment came from, with its SHA-256 ({"split", "split_sha256"}). The task
    is the first of spec.trains_on the dataset has (Stage I: the LA-only cases when there are
    any, else the LA of the LA + scar cases; stage_data.require_task)."""
    fs = rank_zero.main_first(lambda: fold_split(cfg, say), world)
    train, val = fs.cases(require_task(fs.dataset, spec), cfg.fold)
    return (
        [to_device(p, spec.target, device) for p in train],
        [to_device(p, spec.target, device) for p in val],
        {"split": fs.source, "split_sha256": fs.sha256},
    )


def case_facts(cfg: TrainConfig, spec: StageSpec, train: list) -> tuple[float | None, dict]:
    """What a run takes from its training cases: the scar prior for a new scar head under
    --scar-bias-init prior (head_init.scar_prior; None otherwise; setup_run sets it on a new head
    only), and the features of the training images for predict.py's input check
    (input_stats.reference over each scan's voxels, not the crop's padding)."""
    wants_prior = cfg.scar_bias_init == "prior" and "scar" in spec.decoders
    crops = (content(c.pre.image, c.pre.meta["crop_start"], c.pre.meta["resampled_shape"])
             for c in train)  # fmt: skip
    return (scar_prior(train) if wants_prior else None), reference(crops)


def check_split(resume: dict | None, split_sha: str, cfg: TrainConfig) -> None:
    """--resume continues on the fold assignment it started with, or not at all."""
    saved = resume.get("split_sha256") if resume else None
    if saved is not None and saved != split_sha:
        raise CheckpointError(
            f"{cfg.resume}: trained on another fold assignment (split SHA-256 {saved[:12]}..., "
            f"this run's {split_sha[:12]}...: a different --splits, --data or --seed); resume "
            f"with the split it started with"
        )


def log_start(run: Run, cfg: TrainConfig, start: int, sizes, split: dict, log, say) -> None:
    """The start record: loaded / new / frozen groups, each group's lr, the fold assignment;
    printed and logged."""
    record = {
        "event": "start",
        "stage": cfg.stage,
        "fold": cfg.fold,
        "epoch": start,
        "n_train": sizes[0],
        "n_val": sizes[1],
        "device": str(run.device),
        "amp": str(run.amp_dtype),
        "loaded": run.loaded,
        "frozen": run.frozen,
        "new": [g for g in run.spec.groups if g not in run.loaded],
        "lr": run.lrs(),
        "world_size": run.world.size,
        "select_from": run.stopper.start_epoch,  # best / patience counted from here (design §2)
        **split,  # the fold assignment: "seed N" or the --splits file, and its SHA-256
    }
    say(start_line(record))
    if run.world.main:
        log_record(log, record)
