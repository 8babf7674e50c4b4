"""Checkpoints: atomic writes, safe and checked loads — docs/design.md §2, §8.

A checkpoint is a dict of tensors and primitives only, whose keys are defined once, by
record.CheckpointRecord (each field with the use that reads it and its type).
`save_checkpoint` writes a uniquely named temporary file beside `path`, then os.replace, so a crash
never leaves a half-written file in place of a good one and two writers never share a temporary.
`load_checkpoint` uses torch.load(weights_only=True) (a pickle that would run code is refused, and
the error never repeats torch's advice to load it unsafely; a file that is no torch file is named
as such),
then checks the schema of its use (weights, eval or resume: every key read, with its type and
nested keys, derived from the record) and the stage, raising CheckpointError (errors.py) naming
the file. The record is built by training/setup.py and restored by training/state.py.
Tests: tests/test_train_checkpoint.py, tests/test_train_resume.py
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import torch

from ..errors import CheckpointError
from .record import FORMAT, USES, CheckpointRecord, schema

SCHEMAS = {use: schema(use) for use in USES}  # "weights" (--init), "eval", "resume"
PICKLE_MARK = b"\x80"  # the first byte of a pickle (protocol >= 2): torch.save's legacy format
ZIP_MARK = b"PK\x03\x04"  # the first bytes of a zip archive: torch.save's format


def save_checkpoint(state: CheckpointRecord | dict, path: str | Path) -> None:
    """Atomically write `state` (a record, or a dict of its keys) to `path` (unique temporary
    file, then os.replace)."""
    state = state.as_dict() if isinstance(state, CheckpointRecord) else state
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save({"format": FORMAT, **state}, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_schema(state: dict, path: Path, schema: dict) -> None:
    """Every key of `schema` (key -> (type, nested keys), SCHEMAS) present with its type, and the
    nested keys that are read complete."""
    missing = [k for k in schema if k not in state]
    if missing:
        raise CheckpointError(
            f"{path}: lascar_ref checkpoint without {missing} (damaged or hand-made?)"
        )
    wrong = [
        f"{k} ({type(state[k]).__name__}, expected {kind.__name__})"
        for k, (kind, _) in schema.items()
        if not isinstance(state[k], kind) and not (kind is float and isinstance(state[k], int))
    ]
    if wrong:
        raise CheckpointError(f"{path}: wrong types in checkpoint: {', '.join(wrong)}")
    for key, (_, nested) in schema.items():
        lost = [f for f in nested if f not in state[key]]
        if lost:
            raise CheckpointError(f"{path}: checkpoint field {key!r} lacks {lost}")


def safe_load(path: str | Path, map_location="cpu"):
    """torch.load(weights_only=True) of any file, with CheckpointError naming it on failure."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    with open(path, "rb") as f:
        head = f.read(4)
    if not head.startswith((PICKLE_MARK, ZIP_MARK)):  # a truncated zip still starts with its mark
        raise CheckpointError(
            f"{path}: not a PyTorch file (neither a torch.save zip archive nor a pickle)"
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"{path}: refused by the safe loader (weights_only=True): it holds objects "
            f"other than tensors and primitives ({_refusal(e)}); this tool never loads such a file"
        ) from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        raise CheckpointError(
            f"{path}: unreadable or truncated checkpoint ({type(e).__name__}: {e})"
        ) from e


def _refusal(e: Exception) -> str:
    """What the safe loader refused, without torch's advice to load unsafely."""
    lines = [line.strip() for line in str(e).splitlines()]
    named = [line for line in lines if "Unsupported global" in line or "WeightsUnpickler" in line]
    return named[0] if named else type(e).__name__


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex); memoised by (path, inode, size, modification and change
    times), so a file hashed twice in one run is read once and a replaced file is read again."""
    st = os.stat(path)
    key = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return _sha256(str(Path(path).resolve()), key)


@functools.lru_cache(maxsize=256)
def _sha256(path: str, key: tuple) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def is_checkpoint(state) -> bool:
    """Whether a loaded object is a lascar_ref checkpoint (by its format tag)."""
    return isinstance(state, dict) and state.get("format") == FORMAT


def load_checkpoint(
    path: str | Path,
    stages: tuple[int, ...] | None = None,
    map_location="cpu",
    schema: str | None = None,
) -> dict:
    """Load a lascar_ref checkpoint safely; `stages` restricts the stages accepted; `schema`
    ("weights", "eval" or "resume") checks that what that use reads is present and well typed."""
    path = Path(path)
    state = safe_load(path, map_location)
    if not is_checkpoint(state):
        raise CheckpointError(f"{path}: not a lascar_ref checkpoint (expected format {FORMAT!r})")
    if schema is not None:
        check_schema(state, path, SCHEMAS[schema])
    if stages is not None and state.get("stage") not in stages:
        raise CheckpointError(
            f"{path}: a Stage {state.get('stage')} checkpoint, expected Stage "
            f"{' or '.join(map(str, stages))}"
        )
    return state


def check_world_size(state: dict, size: int, source: str) -> None:
    """CheckpointError unless `state` was saved by `size` processes (torchrun's N; older files
    without "rng_by_rank" were saved by one)."""
    saved = len(state.get("rng_by_rank", [state["rng"]]))
    if saved != size:
        raise CheckpointError(
            f"{source}: saved by {saved} process(es), resumed by {size}; resume with the same "
            f"number of processes (torchrun --nproc_per_node {saved}; docs/design.md §11)"
        )
