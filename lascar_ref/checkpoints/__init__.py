"""Checkpoints, one room — docs/design.md §2, §8, §12.

record.py: the one dataclass that defines a checkpoint's keys (CheckpointRecord) and the schema of
each use; files.py: atomic saves and safe, checked loads; init_weights.py: a --init file (ours or
MONAI's) read and applied to a stage's model; export.py: a checkpoint written as MONAI SwinUNETR
weights (`python -m lascar_ref.checkpoints.export`). This file only re-exports files.py's face.
Tests: tests/test_train_checkpoint.py, tests/test_train_resume.py, tests/test_monai_weights.py
"""

from .files import (
    check_world_size,
    file_sha256,
    is_checkpoint,
    load_checkpoint,
    safe_load,
    save_checkpoint,
)

__all__ = [
    "check_world_size",
    "file_sha256",
    "is_checkpoint",
    "load_checkpoint",
    "safe_load",
    "save_checkpoint",
]
