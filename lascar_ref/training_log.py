"""What a run says and records — docs/design.md §2 (files), STYLE rule 11.

One JSON line per epoch in stage{N}.log.jsonl (every loss term of Eq. 5, lr per group, α(t),
validation metrics, seconds) and one printed line per epoch. The start of a stage is logged as a
record {"event": "start", ...} with the loaded / new / frozen groups and each group's lr.
Tests: tests/test_train_e2e.py, tests/test_stage_protection.py
"""

from __future__ import annotations

import json
from pathlib import Path


def log_record(path: Path, record: dict) -> None:
    """Append one JSON line."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def read_log(path: str | Path) -> list[dict]:
    """All records of a stage{N}.log.jsonl; a line cut by a crash (not valid JSON) is skipped."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def start_line(record: dict) -> str:
    """One line on what a stage starts from."""
    lrs = ", ".join(f"{g} {lr:g}" for g, lr in record["lr"].items())
    groups = {k: ", ".join(record[k]) or "-" for k in ("loaded", "new", "frozen")}
    return (
        f"stage {record['stage']}, fold {record['fold']}: {record['n_train']} training / "
        f"{record['n_val']} validation cases on {record['device']}, amp {record['amp']}; "
        f"loaded: {groups['loaded']}; new: {groups['new']}; frozen: {groups['frozen']}; lr: {lrs}"
    )


def epoch_line(record: dict) -> str:
    """One line per epoch: loss, alpha(t), validation metrics, seconds."""
    val = " ".join(
        f"{k[4:]}={v:.4f}" for k, v in record.items() if k.startswith("val_") and k != "val_dice"
    )
    return (
        f"stage {record['stage']} epoch {record['epoch']}: loss {record['loss']:.4f}, "
        f"alpha {record['alpha_t']:.2f}, {val} ({record['seconds']:.1f} s)"
    )
