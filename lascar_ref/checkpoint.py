"""Checkpoints: atomic writes, safe loads — DESIGN.md §2; STYLE rule 12.

A checkpoint is a dict of tensors and primitives only: {"format", "stage", "arch", "epoch",
"model", "optimizer", "scaler", "early_stopping", "alpha_t", "rng", "config", "metrics"}.
`save_checkpoint` writes `path.tmp` then os.replace (a crash never leaves a half-written file in
place of a good one); `load_checkpoint` uses torch.load(weights_only=True) (a pickle that would run
code is refused) and raises CheckpointError naming the file for a missing, truncated or foreign
file, or one from the wrong stage. Tests: tests/test_train_checkpoint.py
"""
from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch

FORMAT = "lascar_ref/1"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message names the file."""


def save_checkpoint(state: dict, path: str | Path) -> None:
    """Atomically write `state` to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **state}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, stages: tuple[int, ...] | None = None, map_location="cpu") -> dict:
    """Load a lascar_ref checkpoint safely; `stages` restricts the stages accepted."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(f"{path}: refused by the safe loader (weights_only=True): it holds objects "
                              f"other than tensors and primitives ({str(e).splitlines()[0]})") from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        raise CheckpointError(f"{path}: unreadable or truncated checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a lascar_ref checkpoint (expected format {FORMAT!r})")
    if stages is not None and state.get("stage") not in stages:
        raise CheckpointError(f"{path}: a Stage {state.get('stage')} checkpoint, expected Stage "
                              f"{' or '.join(map(str, stages))}")
    return state
