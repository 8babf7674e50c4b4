"""What a run records: stage{N}.log.jsonl — docs/design.md §2 (files).

One JSON line per epoch (every loss term of Eq. 5, lr per group, α(t), validation metrics,
seconds); the start of a stage is a record {"event": "start", ...} with the loaded / new / frozen
groups and each group's lr. Written by training (training/fit.py), read by the training curves
(evaluation/figures.py); the printed lines are training/report.py.
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
