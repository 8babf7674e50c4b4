"""The keys of a checkpoint, defined once — docs/design.md §2 ("Files"), §8, §11.

`CheckpointRecord` is the one definition of what a lascar_ref checkpoint carries: one field per
key, in file order, each with the use that reads it ("weights": --init and predict.py;
"eval": eval.py; "resume": --resume; None: optional, absent in older files), its type, the
nested fields that are read, and what it holds. training/setup.py builds the record after each
epoch (by keyword), checkpoint.save_checkpoint writes `as_dict()`, and checkpoint.SCHEMAS, which
load_checkpoint checks, are derived from the fields (`schema`).
Tests: tests/test_train_checkpoint.py, tests/test_package_layout.py (a file of an older commit)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

FORMAT = "lascar_ref/1"  # the "format" tag of every checkpoint
USES = ("weights", "eval", "resume")  # each use reads its own keys and those of the uses before


def key(use: str | None, kind: type, what: str, nested: tuple[str, ...] = ()):
    """A checkpoint key: the first use that reads it, its type, what it holds, its nested keys."""
    meta = {"use": use, "kind": kind, "what": what, "nested": nested}
    return field(default=None, metadata=meta) if use is None else field(metadata=meta)


@dataclass(frozen=True, kw_only=True)
class CheckpointRecord:
    """One checkpoint: a dict of tensors and primitives only (torch.load(weights_only=True))."""

    stage: int = key("weights", int, "the stage, a key of stage_table.STAGES")
    arch: dict = key("weights", dict, "the model class and feature size", ("model", "feature_size"))
    epoch: int = key("resume", int, "the last epoch trained (0-based)")
    complete: bool | None = key(None, bool, "early stopping fired or max_epochs reached")
    loaded_groups: list | None = key(None, list, "module groups --init loaded (protected ones)")
    init_sha256: str | None = key(
        None, str, "SHA-256 of the --init file (None: random init); evaluate.init_chain follows it"
    )
    split_sha256: str | None = key(
        None, str, "SHA-256 of the fold assignment (data/splits.py); --resume refuses another"
    )
    model: dict = key("weights", dict, "the model's state dict")
    optimizer: dict = key("resume", dict, "AdamW's state dict")
    scaler: dict = key("resume", dict, "the GradScaler's state dict ({} unless fp16)")
    early_stopping: dict = key(
        "resume", dict, "EarlyStopping.state()", ("best", "best_epoch", "bad_epochs")
    )
    alpha_t: float = key("resume", float, "alpha(t) of the epoch (Eq. 7; 0 without the prior)")
    rng: dict = key(
        "resume", dict, "this process's random streams", ("torch_cpu", "sampler", "augment")
    )
    rng_by_rank: list | None = key(
        None, list, "every torchrun rank's random streams ([rng] in one process)"
    )
    config: dict = key("eval", dict, "config.config_dict of the run")
    metrics: dict = key("resume", dict, "the epoch's log record, floats only")
    input_stats: dict | None = key(
        None,
        dict,
        "features of the training images (inference/input_stats.py): predict's input check",
    )
    flip_reference: dict | None = key(
        None,
        dict,
        "the flip check on the fold's validation scans, per structure {median, min, max, n} "
        "(training/flip_reference.py), written into the kept checkpoint at the end of training",
    )

    def as_dict(self) -> dict:
        """{"format": FORMAT, key: value, ...} in field order (no copy of the tensors)."""
        return {"format": FORMAT, **{f.name: getattr(self, f.name) for f in fields()}}


def fields() -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(CheckpointRecord)


def schema(use: str) -> dict[str, tuple[type, tuple[str, ...]]]:
    """The keys `use` reads (its own and those of the uses before it in USES) -> (type, nested
    keys); optional keys are never required."""
    wanted = USES[: USES.index(use) + 1]  # in use order, so that errors list weights keys first
    return {
        f.name: (f.metadata["kind"], f.metadata["nested"])
        for u in wanted
        for f in fields()
        if f.metadata["use"] == u
    }
