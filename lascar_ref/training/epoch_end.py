"""What follows an epoch's training — paper §4.2 (validation, early stopping); docs/design.md §2.

`validate_epoch`: validate when due (every --val-every epochs and at the last; validation.py),
add the metrics to the epoch's record and update early stopping, rank 0 deciding under torchrun.
`write_epoch`: stage{N}.pt when the epoch is the new best, stage{N}.last.pt always (both atomic,
checkpoint.save_checkpoint), one line of stage{N}.log.jsonl.
Tests: tests/test_train_e2e.py, tests/test_train_resume.py, tests/test_distributed.py
"""

from __future__ import annotations

from ..checkpoints import save_checkpoint
from ..checkpoints.record import CheckpointRecord
from ..config import TrainConfig
from ..run_log import log_record
from ..runtime import distributed
from .setup import Run
from .validation import validate


def validate_epoch(run: Run, val: list, cfg: TrainConfig, epoch: int, record: dict) -> bool:
    """Validate when due, add the metrics to `record` and update early stopping; True when this
    epoch is the new best (rank 0's decision, and rank 0's early-stopping state on every rank)."""
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
    improved = run.stopper.update(record["val_dice"], epoch, record["val_soft_dice"])
    improved, stopping = distributed.broadcast((improved, run.stopper.state()))
    run.stopper.load(stopping)
    return improved


def write_epoch(state: CheckpointRecord, record: dict, improved: bool, paths: dict) -> None:
    """stage{N}.pt when improved, stage{N}.last.pt always (both atomic), one log line."""
    if improved:
        save_checkpoint(state, paths["best"])
    save_checkpoint(state, paths["last"])
    log_record(paths["log"], record)
