"""Every error type lascar_ref raises on purpose — docs/design.md §8 (reliability).

Each is a ValueError or RuntimeError subclass whose message names the file (or option, or
folder) and the problem, so the command lines print one line instead of a traceback. This module
imports nothing of ours: every room of the package may raise these.
Tests: tests/test_data_validation.py, tests/test_train_checkpoint.py, tests/test_run_lock.py,
tests/test_train_stopping.py
"""

from __future__ import annotations


class DataError(ValueError):
    """A dataset or scan that cannot be used; the message names the file and the problem."""


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message names the file."""


class RunLockError(ValueError):
    """Another run holds the output folder; the message names it."""


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss); the message names stage, epoch and step."""


REPORTED = (DataError, CheckpointError, RunLockError, TrainingError)  # train.py prints these
