"""Training configuration: one frozen dataclass, every default tagged with its source — paper §3.2,
§4.1, §4.2; docs/design.md §2 (STYLE rule 6).

Paper constants are imported from the module that uses them (λ from losses/dice_ce.py, β from
losses/stage_losses.py, α's ramp from losses/wall_weight.py, δ from losses/wall_mask.py, patch and
overlap held here, the target grid from data/preprocess.py, the fold count from
data/folds.py), so each has exactly one source. The CLI of train.py is generated from the fields
(`add_arguments`): `python train.py -h` shows each default and where it comes from. Values are
validated here, before any data is read, and errors name the option (docs/design.md §8).
Presets: "paper" (the defaults) and "demo" (a small CPU run on phantoms, per-stage epochs).
Tests: tests/test_train_stages.py, tests/test_reliability.py
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import get_type_hints

from .data.folds import N_FOLDS
from .data.phantom import REALISTIC_SHAPE, REALISTIC_SPACING
from .data.preprocess import TARGET_SIZE, TARGET_SPACING_MM
from .losses.dice_ce import LAM
from .losses.stage_losses import BETA_LA, BETA_SCAR
from .losses.wall_mask import DELTA_IN_MM, DELTA_OUT_MM
from .losses.wall_weight import ALPHA_MAX, RAMP_EPOCHS

PATCH = (224, 192, 32)  # training patch and sliding window, docs/design.md §0
OVERLAP = 0.5  # sliding-window overlap, docs/design.md §6
AMP_CHOICES = ("auto", "bf16", "fp16", "off")  # --amp (runtime/device.py)


def src(default, source: str):
    """A dataclass field with a default and the source of that default."""
    return field(default=default, metadata={"source": source})


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run of one stage reads (docs/design.md §2)."""

    stage: int = src(1, "§3.2 (1, 2 or 3)")
    data: str | None = src(
        None, "LAScarQS root (task1/, task2/); None: phantoms (docs/design.md §7)"
    )
    out: str = src(".", "docs/design.md §2: stage{N}.pt, stage{N}.last.pt, stage{N}.log.jsonl")
    cache: str = src(
        ".cache/lascar_ref", "preprocessed-volume cache and phantom data (docs/design.md §5)"
    )
    init: str | None = src(None, "docs/design.md §2: weights of an earlier stage")
    resume: str | None = src(None, "docs/design.md §2: a stage{N}.last.pt to continue exactly")
    fold: int = src(0, "§4.2: 5-fold cross-validation")
    n_folds: int = src(N_FOLDS, "§4.2")
    seed: int = src(0, "§4.2: one fixed seed")
    device: str = src("auto", "cuda if available, else cpu")
    amp: str = src(
        "auto", "STYLE 11: bf16 on CUDA when supported, off on CPU (bf16, fp16, off, auto)"
    )
    deterministic: bool = src(False, "docs/design.md §2: deterministic kernels, fixed threads")
    lr: float = src(1e-4, "§4.2")
    pretrained_lr_scale: float = src(
        0.1, "docs/design.md §2: loaded Stage II E, D_LA 'updated cautiously'"
    )
    weight_decay: float = src(1e-5, "docs/design.md §2 (paper silent; MONAI tutorial value)")
    grad_clip: float = src(0.0, "paper silent: 0 = no clipping")
    batch_size: int = src(1, "§4.2")
    max_epochs: int = src(250, "§4.2")
    patience: int = src(30, "§4.2 early stopping")
    min_delta: float = src(1e-4, "§4.2 early stopping")
    val_every: int = src(1, "docs/design.md §2")
    steps_per_epoch: int = src(0, "docs/design.md §2: 0 = one patch per training case")
    patch: tuple[int, int, int] = src(
        PATCH, "docs/design.md §0 (paper 228 x 192 x 32, not divisible by 32)"
    )
    spacing_mm: tuple[float, float, float] = src(TARGET_SPACING_MM, "§4.1")
    size: tuple[int, int, int] = src(TARGET_SIZE, "§4.1")
    feature_size: int = src(48, "§4.2 / docs/design.md §1")
    use_checkpoint: bool = src(False, "docs/design.md §1: gradient checkpointing of Swin blocks")
    channels_last: bool = src(False, "docs/design.md §11: channels_last_3d memory (speed only)")
    compile: bool = src(False, "docs/design.md §11: torch.compile of the model (speed only)")
    lam: float = src(LAM, "Eq. 1 / docs/design.md §3")
    beta_la: float = src(BETA_LA, "Eq. 5")
    beta_scar: float = src(BETA_SCAR, "Eq. 5")
    alpha_max: float = src(ALPHA_MAX, "Eq. 7 / docs/design.md §2")
    alpha_ramp_epochs: int = src(RAMP_EPOCHS, "Eq. 7 / docs/design.md §2")
    delta_in_mm: float = src(DELTA_IN_MM, "Eq. 6")
    delta_out_mm: float = src(DELTA_OUT_MM, "Eq. 6")
    overlap: float = src(OVERLAP, "docs/design.md §6 sliding window")
    sw_batch_size: int = src(2, "windows per sliding-window batch")
    phantom_task1: int = src(10, "docs/design.md §7: phantom Task 1 scans (no --data)")
    phantom_task2_only: int = src(10, "docs/design.md §7: extra LA-only phantom scans (no --data)")
    phantom_shape: tuple[int, int, int] = src(
        REALISTIC_SHAPE, "docs/design.md §5, §7: realistic raw size"
    )
    phantom_spacing: tuple[float, float, float] = src(REALISTIC_SPACING, "docs/design.md §5, §7")
    progress: bool = src(True, "tqdm bars")

    def __post_init__(self):
        problems = [
            f"--{name.replace('_', '-')} {getattr(self, name)!r}: {why}"
            for name, ok, why in _checks(self)
            if not ok
        ]
        if problems:
            raise ValueError("invalid configuration: " + "; ".join(problems))


def _checks(c: TrainConfig) -> list[tuple[str, bool, str]]:
    """(option, valid?, what is expected) for every constrained option."""
    return [
        ("stage", c.stage in (1, 2, 3), "must be 1, 2 or 3"),
        ("amp", c.amp in AMP_CHOICES, f"must be one of {AMP_CHOICES}"),
        (
            "patch",
            all(p % 32 == 0 and p > 0 for p in c.patch),
            "must be divisible by 32 in every axis (docs/design.md §0); "
            "e.g. 224 instead of the paper's 228",
        ),
        ("n_folds", c.n_folds >= 2, "must be at least 2 (one fold validates, the others train)"),
        ("fold", 0 <= c.fold < max(c.n_folds, 1), f"must lie in [0, {c.n_folds})"),
        ("lr", c.lr > 0, "must be > 0"),
        ("pretrained_lr_scale", c.pretrained_lr_scale > 0, "must be > 0"),
        ("weight_decay", c.weight_decay >= 0, "must be >= 0"),
        ("grad_clip", c.grad_clip >= 0, "must be >= 0 (0 = no clipping)"),
        ("batch_size", c.batch_size >= 1, "must be >= 1"),
        ("max_epochs", c.max_epochs >= 1, "must be >= 1"),
        ("patience", c.patience >= 1, "must be >= 1"),
        ("min_delta", c.min_delta >= 0, "must be >= 0"),
        ("val_every", c.val_every >= 1, "must be >= 1"),
        ("steps_per_epoch", c.steps_per_epoch >= 0, "must be >= 0 (0 = one patch per case)"),
        (
            "feature_size",
            c.feature_size > 0 and c.feature_size % 12 == 0,
            "must be a positive multiple of 12",
        ),
        ("overlap", 0 <= c.overlap < 1, "must lie in [0, 1)"),
        ("sw_batch_size", c.sw_batch_size >= 1, "must be >= 1"),
        ("spacing_mm", all(s > 0 for s in c.spacing_mm), "must be positive"),
        ("size", all(s > 0 for s in c.size), "must be positive"),
        ("alpha_ramp_epochs", c.alpha_ramp_epochs >= 0, "must be >= 0"),
        ("lam", 0 <= c.lam <= 1, "must lie in [0, 1]"),
    ]


PRESETS = {
    "paper": {},
    "demo": dict(
        feature_size=12,
        patch=(64, 64, 32),
        spacing_mm=(1.25, 1.25, 2.5),  # the phantoms' own grid: a 2-3 mm wall stays >= 2 voxels
        size=(96, 96, 32),
        phantom_task1=8,
        phantom_task2_only=16,
        phantom_shape=(96, 96, 24),
        phantom_spacing=(1.25, 1.25, 2.5),
        patience=16,  # >= every stage's epochs: each stage runs its whole budget (design §7)
        lr=1e-3,
        sw_batch_size=2,
        cache=".cache/lascar_ref_demo",
        per_stage={  # most of the ~13 min goes where the scar is learned: Stage III (design §7)
            1: dict(max_epochs=8, steps_per_epoch=18),
            2: dict(max_epochs=8, steps_per_epoch=12, alpha_ramp_epochs=3),
            3: dict(max_epochs=16, steps_per_epoch=16),
        },
    ),
}
OVERRIDABLE_ON_RESUME = {
    "max_epochs",
    "out",
    "device",
    "amp",
    "patience",
    "progress",
    "cache",
    "data",
    "channels_last",
    "compile",
}


def add_arguments(parser: argparse.ArgumentParser, skip: tuple[str, ...] = ("stage",)) -> None:
    """One --option per field, default suppressed
    (so explicit values are known), help with source."""
    hints = get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        if f.name in skip:
            continue
        name, help_ = (
            "--" + f.name.replace("_", "-"),
            f"{f.metadata['source']} (default: {f.default})",
        )
        kind = hints[f.name]
        if kind is bool:
            parser.add_argument(
                name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_
            )
        elif str(kind).startswith("tuple"):
            elem = float if "float" in str(kind) else int
            parser.add_argument(name, type=elem, nargs=3, default=argparse.SUPPRESS, help=help_)
        elif f.name == "amp":
            parser.add_argument(name, choices=AMP_CHOICES, default=argparse.SUPPRESS, help=help_)
        else:
            elem = {int: int, float: float}.get(kind, str)
            parser.add_argument(name, type=elem, default=argparse.SUPPRESS, help=help_)


def make_config(preset: str = "paper", **values) -> TrainConfig:
    """Preset defaults updated by explicit values; tuples normalised."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    preset_values = dict(PRESETS[preset])
    per_stage = preset_values.pop("per_stage", {})
    merged = {**preset_values, **per_stage.get(values.get("stage", 1), {}), **values}
    for key in ("patch", "size", "spacing_mm", "phantom_shape", "phantom_spacing"):
        if key in merged:
            merged[key] = tuple(merged[key])
    return TrainConfig(**merged)


def config_dict(cfg: TrainConfig) -> dict:
    """Primitives only (tuples as lists), for checkpoints and logs."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}
