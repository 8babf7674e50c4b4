"""Training configuration: one frozen dataclass per stage, every default tagged with its source —
paper §3.2, §4.1, §4.2; DESIGN.md §2 (STYLE rule 6). The CLI of train.py is generated from the
fields (`add_arguments`), so `python train.py -h` shows each default and where it comes from.
Presets: "paper" (the defaults) and "demo" (a small, CPU-friendly run on phantoms, with per-stage
epochs so that `train.py --stage all --preset demo` fits in about 10 minutes on 2 CPU cores).
Tests: tests/test_train_stages.py
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import get_type_hints


def src(default, source: str):
    """A dataclass field with a default and the source of that default."""
    return field(default=default, metadata={"source": source})


@dataclass(frozen=True)
class TrainConfig:
    stage: int = src(1, "§3.2 (1, 2 or 3)")
    data: str | None = src(None, "LAScarQS root (task1/, task2/); None: built-in phantoms (DESIGN.md §7)")
    out: str = src(".", "DESIGN.md §2: stage{N}.pt, stage{N}.last.pt, stage{N}.log.jsonl")
    cache: str = src(".cache/lascar_ref", "preprocessed-volume cache and phantom data (DESIGN.md §5)")
    init: str | None = src(None, "DESIGN.md §2: weights of an earlier stage")
    resume: str | None = src(None, "DESIGN.md §2: a stage{N}.last.pt to continue exactly")
    fold: int = src(0, "§4.2: 5-fold cross-validation")
    n_folds: int = src(5, "§4.2")
    seed: int = src(0, "§4.2: one fixed seed")
    device: str = src("auto", "cuda if available, else cpu")
    amp: str = src("auto", "STYLE 11: bf16 on CUDA when supported, off on CPU (bf16, fp16, off, auto)")
    lr: float = src(1e-4, "§4.2")
    pretrained_lr_scale: float = src(0.1, "DESIGN.md §2: Stage II E and D_LA 'updated cautiously'")
    weight_decay: float = src(1e-5, "DESIGN.md §2 (paper silent; MONAI tutorial value)")
    grad_clip: float = src(0.0, "paper silent: 0 = no clipping")
    batch_size: int = src(1, "§4.2")
    max_epochs: int = src(250, "§4.2")
    patience: int = src(30, "§4.2 early stopping")
    min_delta: float = src(1e-4, "§4.2 early stopping")
    val_every: int = src(1, "DESIGN.md §2")
    steps_per_epoch: int = src(0, "DESIGN.md §2: 0 = one patch per training case")
    patch: tuple[int, int, int] = src((224, 192, 32), "DESIGN.md §0 (paper 228 x 192 x 32, not divisible by 32)")
    spacing_mm: tuple[float, float, float] = src((0.625, 0.625, 2.5), "§4.1")
    size: tuple[int, int, int] = src((384, 256, 40), "§4.1")
    feature_size: int = src(48, "§4.2 / DESIGN.md §1")
    use_checkpoint: bool = src(False, "DESIGN.md §1: gradient checkpointing of Swin blocks")
    lam: float = src(0.5, "Eq. 1 / DESIGN.md §3")
    beta_la: float = src(0.3, "Eq. 5")
    beta_scar: float = src(0.7, "Eq. 5")
    alpha_max: float = src(1.0, "Eq. 7 / DESIGN.md §2")
    alpha_ramp_epochs: int = src(50, "Eq. 7 / DESIGN.md §2")
    delta_in_mm: float = src(3.0, "Eq. 6")
    delta_out_mm: float = src(2.5, "Eq. 6")
    overlap: float = src(0.5, "DESIGN.md §6 sliding window")
    sw_batch_size: int = src(2, "windows per sliding-window batch")
    phantom_task1: int = src(10, "DESIGN.md §7: phantom Task 1 scans (no --data)")
    phantom_task2_only: int = src(10, "DESIGN.md §7: extra LA-only phantom scans (no --data)")
    phantom_shape: tuple[int, int, int] = src((576, 576, 44), "DESIGN.md §5/§7: realistic raw size")
    phantom_spacing: tuple[float, float, float] = src((0.625, 0.625, 2.5), "DESIGN.md §5/§7")
    progress: bool = src(True, "tqdm bars")

    def __post_init__(self):
        if self.stage not in (1, 2, 3):
            raise ValueError(f"stage must be 1, 2 or 3, got {self.stage}")
        if self.amp not in ("auto", "bf16", "fp16", "off"):
            raise ValueError(f"amp must be auto, bf16, fp16 or off, got {self.amp!r}")
        if any(p % 32 for p in self.patch):
            raise ValueError(f"patch {self.patch} must be divisible by 32 in every axis (DESIGN.md §0); "
                             f"e.g. 224 instead of the paper's 228")
        if not 0 <= self.fold < self.n_folds:
            raise ValueError(f"fold {self.fold} must lie in [0, {self.n_folds})")


PRESETS = {
    "paper": {},
    "demo": dict(feature_size=12, patch=(64, 64, 32), spacing_mm=(1.875, 1.875, 2.5), size=(64, 64, 32),
                 phantom_task1=8, phantom_task2_only=8, phantom_shape=(96, 96, 24), phantom_spacing=(1.25, 1.25, 2.5),
                 patience=8, lr=1e-3, sw_batch_size=2, cache=".cache/lascar_ref_demo",
                 per_stage={1: dict(max_epochs=5),
                            2: dict(max_epochs=6, steps_per_epoch=12, alpha_ramp_epochs=3),
                            3: dict(max_epochs=6, steps_per_epoch=16)}),
}
OVERRIDABLE_ON_RESUME = {"max_epochs", "out", "device", "amp", "patience", "progress", "cache", "data"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One --option per field, default suppressed (so explicit values are known), help with source."""
    hints = get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        name, help_ = "--" + f.name.replace("_", "-"), f"{f.metadata['source']} (default: {f.default})"
        kind = hints[f.name]
        if kind is bool:
            parser.add_argument(name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_)
        elif f.name == "stage":
            continue  # train.py parses --stage itself (it also accepts "all")
        elif str(kind).startswith("tuple"):
            elem = float if "float" in str(kind) else int
            parser.add_argument(name, type=elem, nargs=3, default=argparse.SUPPRESS, help=help_)
        elif f.name == "amp":
            parser.add_argument(name, choices=["auto", "bf16", "fp16", "off"], default=argparse.SUPPRESS, help=help_)
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
