"""What a run prints: one line at the start of a stage and one per epoch — docs/design.md §2.

The same records go to stage{N}.log.jsonl (run_log.py).
Tests: tests/test_train_e2e.py, tests/test_stage_protection.py
"""

from __future__ import annotations

from ..stage_table import STAGES


def start_line(record: dict) -> str:
    """One line on what a stage starts from."""
    lrs = ", ".join(f"{g} {lr:g}" for g, lr in record["lr"].items())
    groups = {k: ", ".join(record[k]) or "-" for k in ("loaded", "new", "frozen")}
    start = record.get("select_from")
    return (
        f"stage {record['stage']}, fold {record['fold']}: {record['n_train']} training / "
        f"{record['n_val']} validation cases on {record['device']}, amp {record['amp']}; "
        f"loaded: {groups['loaded']}; new: {groups['new']}; frozen: {groups['frozen']}; lr: {lrs}"
        + (f"; best epoch counted from epoch {start}" if start else "")
        + (f"; folds of {record['split']}" if record.get("split") else "")
    )


def epoch_line(record: dict) -> str:
    """One line per epoch: loss, alpha(t) (in the stage with the wall prior, where Eq. 7 acts),
    validation metrics, seconds."""
    val = " ".join(
        f"{k[4:]}={v:.4f}"
        for k, v in record.items()
        if k.startswith("val_") and k not in ("val_dice", "val_soft_dice")
    )
    wall_prior = STAGES[record["stage"]].wall_prior
    alpha = f"alpha {record['alpha_t']:.2f}, " if wall_prior else ""
    return (
        f"stage {record['stage']} epoch {record['epoch']}: loss {record['loss']:.4f}, "
        f"{alpha}{val} ({record['seconds']:.1f} s)"
    )
