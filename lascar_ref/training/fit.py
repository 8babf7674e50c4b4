"""Train one stage end to end — paper §3.2, §4.2; docs/design.md §2.

`fit(cfg)` reads top to bottom: look the stage up in the stage table; resolve the device; check
the init / resume checkpoint; check that --out is writable and take its lock (one writer per
--out, docs/design.md §8); load the fold's data; set up the run (setup.py: model, earlier-stage
weights, freezing and lr groups for loaded groups only, optimiser, exact resume); then the epoch
loop: train (step.run_epoch), validate (validate.py), early stopping, checkpoints, one log line.
Files in cfg.out: stage{N}.pt (best validation Dice), stage{N}.last.pt (every epoch, to resume),
stage{N}.log.jsonl. On the CPU an interrupted-and-resumed run ends bit-identical to an
uninterrupted one (same thread count; docs/design.md §2, "Determinism").
Tests: tests/test_train_resume.py, tests/test_train_e2e.py, tests/test_stage_protection.py
"""

from __future__ import annotations

import contextlib
import time

from tqdm import tqdm

from ..checkpoint import check_world_size, load_checkpoint, save_checkpoint
from ..config import TrainConfig
from ..errors import CheckpointError
from ..run_log import log_record
from ..runtime import distributed
from ..runtime.device import determinism, resolve_amp, resolve_device
from ..stage_data import fold_split, require_task, to_device
from ..stage_table import STAGES, alpha_t
from .report import epoch_line, start_line
from .run_lock import RunLock, check_writable
from .setup import Run, load_init, setup_run, stage_paths
from .step import run_epoch
from .validate import validate

__all__ = ["fit", "stage_paths"]


def fit(cfg: TrainConfig, say=print) -> dict:
    """Train one stage. Returns {"best": best validation Dice, "best_epoch", "epochs_run",
    "complete" (early stopping fired or max_epochs reached), "paths": {"best", "last", "log"}}."""
    spec, world = STAGES[cfg.stage], distributed.current()
    say = distributed.main_say(say, world)
    device = distributed.rank_device(resolve_device(cfg.device), world)
    paths = stage_paths(cfg.out, cfg.stage)
    resume = load_checkpoint(cfg.resume, (cfg.stage,), schema="resume") if cfg.resume else None
    if resume:
        check_world_size(resume, world.size, cfg.resume)
    init = load_init(cfg) if cfg.init and not resume else None
    with contextlib.ExitStack() as held:
        distributed.main_only(lambda: _take_out_folder(cfg, say, held), world)
        held.enter_context(determinism(cfg.deterministic, device))
        train, val, split = _fold_tensors(cfg, device, say, world)
        _check_split(resume, split["split_sha256"], cfg)
        amp_dtype = resolve_amp(cfg.amp, device)
        run, start = setup_run(cfg, spec, device, amp_dtype, init, resume, say, world)
        run.split_sha256 = split["split_sha256"]
        _log_start(run, cfg, start, (len(train), len(val)), split, paths["log"], say)
        bars = cfg.bars and world.main
        state, epoch = None, start - 1
        for epoch in tqdm(range(start, cfg.max_epochs), f"stage {cfg.stage}", disable=not bars):
            if run.stopper.stop:
                break
            t0 = time.perf_counter()
            alpha = alpha_t(spec, epoch, cfg.alpha_max, cfg.alpha_ramp_epochs)
            record = {"stage": cfg.stage, "epoch": epoch, "alpha_t": alpha}
            record.update(run_epoch(run, train, cfg, alpha, epoch), lr=run.lrs())
            improved = _validate_epoch(run, val, cfg, epoch, record)
            record["seconds"] = time.perf_counter() - t0
            state = run.state(cfg, epoch, alpha, record)  # every rank: gathers their RNG states
            if world.main:
                _write_epoch(state, record, improved, paths)
            (tqdm.write if bars else say)(epoch_line(record))
        if world.main and state is not None and not paths["best"].exists():  # no validation ran
            save_checkpoint(state, paths["best"])
        distributed.barrier()  # the files are written before any rank goes on
    return {
        "best": run.stopper.best,
        "best_epoch": run.stopper.best_epoch,
        "epochs_run": epoch + 1 - start,
        "complete": run.complete(cfg, epoch),
        "paths": {k: str(v) for k, v in paths.items()},
    }


def _take_out_folder(cfg: TrainConfig, say, held: contextlib.ExitStack) -> None:
    """Check that --out is writable and hold its lock for the run (rank 0 only under torchrun)."""
    check_writable(cfg.out)
    held.enter_context(RunLock(cfg.out, say))


def _fold_tensors(cfg: TrainConfig, device, say, world) -> tuple[list, list, dict]:
    """The fold's training and validation cases on `device` (rank 0 fills the cache first) and
    where the fold assignment came from, with its SHA-256 ({"split", "split_sha256"}). Stage I
    trains on the LA-only cases when the dataset has them, else on the LA of the LA + scar cases
    (stage_data.require_task)."""
    spec = STAGES[cfg.stage]
    fs = distributed.main_first(lambda: fold_split(cfg, say), world)
    train, val = fs.cases(require_task(fs.dataset, cfg.stage), cfg.fold)
    return (
        [to_device(p, spec.target, device) for p in train],
        [to_device(p, spec.target, device) for p in val],
        {"split": fs.source, "split_sha256": fs.sha256},
    )


def _check_split(resume: dict | None, split_sha: str, cfg: TrainConfig) -> None:
    """--resume continues on the fold assignment it started with, or not at all."""
    saved = resume.get("split_sha256") if resume else None
    if saved is not None and saved != split_sha:
        raise CheckpointError(
            f"{cfg.resume}: trained on another fold assignment (split SHA-256 {saved[:12]}..., "
            f"this run's {split_sha[:12]}...: a different --splits, --data or --seed); resume "
            f"with the split it started with"
        )


def _log_start(run: Run, cfg: TrainConfig, start: int, sizes, split: dict, log, say) -> None:
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


def _validate_epoch(run: Run, val: list, cfg: TrainConfig, epoch: int, record: dict) -> bool:
    """Validate when due (every --val-every epochs and at the last), add the metrics to `record`
    and update early stopping; True when this epoch is the new best (rank 0's decision)."""
    if (epoch + 1) % cfg.val_every and epoch + 1 != cfg.max_epochs:
        return False
    record.update(
        validate(
            run.model,
            val,
            run.spec,
            patch=cfg.patch,
            overlap=cfg.overlap,
            sw_batch_size=cfg.sw_batch_size,
            spacing_mm=cfg.spacing_mm,
            amp_dtype=run.amp_dtype,
            world=run.world,
        )
    )
    improved = run.stopper.update(record["val_dice"], epoch)
    improved, run.stopper = distributed.broadcast((improved, run.stopper))
    return improved


def _write_epoch(state: dict, record: dict, improved: bool, paths: dict) -> None:
    """stage{N}.pt when improved, stage{N}.last.pt always (both atomic), one log line."""
    if improved:
        save_checkpoint(state, paths["best"])
    save_checkpoint(state, paths["last"])
    log_record(paths["log"], record)
