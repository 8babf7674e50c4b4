"""Training configuration: one frozen dataclass, every default tagged with its source — paper §3.2,
§4.1, §4.2; docs/design.md §2.

Paper constants are imported from the module that uses them (λ from losses/dice_ce.py, β from
losses/stage_losses.py, α's ramp from losses/wall_weight.py, δ from losses/wall_mask.py, patch and
overlap held here, the target grid from data/preprocess.py, the fold count from
data/folds.py), so each has exactly one source. The CLI of train.py is generated from the fields
(`add_arguments`): `python train.py -h` shows the options in titled groups, each saying what
it does, then its source and default. Values are
validated here, before any data is read, and errors name the option (docs/design.md §8).
Presets: "paper" (the defaults) and "demo" (a small CPU run on phantoms, per-stage epochs).
Deviation (the paper is silent): AdamW weight decay 1e-5 (MONAI's tutorial value) and no
gradient clipping (docs/design.md §2); the training patch 224 x 192 x 32 instead of 228
(docs/design.md §0). The demo preset is not the paper's recipe (docs/design.md §7).
Tests: tests/test_config.py
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
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
PROGRESS_CHOICES = ("auto", "on", "off")  # --progress


GROUPS = (  # train.py -h shows the options in these titled groups, in this order
    "what to run",
    "data and folds",
    "model",
    "optimisation and stopping",
    "the paper's loss and prior",
    "augmentation, patches and the sliding window",
    "speed and devices",
    "phantoms (no --data)",
    "output",
)


def opt(default, group: str, help: str, source: str = ""):
    """A dataclass field: its default, its -h group, what it does and where its value comes from
    ("paper §4.2", "Eq. 5", "docs/design.md §2"; empty where the option is ours alone)."""
    assert group in GROUPS, group
    return field(default=default, metadata={"group": group, "help": help, "source": source})


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run of one stage reads (docs/design.md §2)."""

    stage: int = opt(1, "what to run", "the stage to train: 1, 2 or 3", "paper §3.2")
    init: str | None = opt(
        None, "what to run", "weights of an earlier stage, or MONAI weights", "docs/design.md §2"
    )
    resume: str | None = opt(
        None, "what to run", "a stage{N}.last.pt to continue exactly", "docs/design.md §2"
    )
    data: str | None = opt(
        None,
        "data and folds",
        "dataset folder: LAScarQS (task1/, task2/), Decathlon or nnU-Net (dataset.json, "
        "imagesTr/, labelsTr/); none: built-in phantoms",
        "docs/design.md §5, §7",
    )
    labels: str | None = opt(
        None,
        "data and folds",
        "label values of a label map, e.g. la=1,2,scar=2 (none: from dataset.json's names)",
        "docs/design.md §5",
    )
    splits: str | None = opt(
        None,
        "data and folds",
        "a split file (python -m lascar_ref.data folds, or nnU-Net's splits_final.json) "
        "instead of the seed's folds; its fold count is used",
        "docs/design.md §5",
    )
    cache: str = opt(
        ".cache/lascar_ref",
        "data and folds",
        "folder for preprocessed volumes and phantom data",
        "docs/design.md §5",
    )
    fold: int = opt(0, "data and folds", "validation fold", "paper §4.2")
    n_folds: int = opt(N_FOLDS, "data and folds", "number of cross-validation folds", "paper §4.2")
    seed: int = opt(0, "data and folds", "seed of folds, weights and patches", "paper §4.2")
    feature_size: int = opt(
        48, "model", "SwinUNETR feature size, a multiple of 12", "docs/design.md §1"
    )
    use_checkpoint: bool = opt(
        False, "model", "gradient checkpointing of the Swin blocks", "docs/design.md §1"
    )
    lr: float = opt(1e-4, "optimisation and stopping", "AdamW learning rate", "paper §4.2")
    pretrained_lr_scale: float = opt(
        0.1,
        "optimisation and stopping",
        "lr factor of a loaded E and D_LA in Stage II, 'updated cautiously'",
        "paper §3.2, docs/design.md §2",
    )
    weight_decay: float = opt(
        1e-5,
        "optimisation and stopping",
        "AdamW weight decay; paper silent, MONAI tutorial value",
        "docs/design.md §2",
    )
    grad_clip: float = opt(
        0.0,
        "optimisation and stopping",
        "gradient-norm clipping, 0 = none; paper silent",
        "docs/design.md §2",
    )
    batch_size: int = opt(1, "optimisation and stopping", "patches per step", "paper §4.2")
    max_epochs: int = opt(250, "optimisation and stopping", "epoch limit", "paper §4.2")
    patience: int = opt(
        30, "optimisation and stopping", "early-stopping patience in epochs", "paper §4.2"
    )
    min_delta: float = opt(
        1e-4, "optimisation and stopping", "smallest validation gain that counts", "paper §4.2"
    )
    select_from: int = opt(
        -1,
        "optimisation and stopping",
        "first epoch that may be kept as the best checkpoint or count towards patience; -1: "
        "where alpha(t) reaches its maximum in Stage II, 0 in Stages I and III",
        "docs/design.md §2",
    )
    val_every: int = opt(
        1, "optimisation and stopping", "validate every N epochs", "docs/design.md §2"
    )
    steps_per_epoch: int = opt(
        0,
        "optimisation and stopping",
        "patches per epoch, 0 = one per training case",
        "docs/design.md §2",
    )
    lam: float = opt(LAM, "the paper's loss and prior", "Dice weight of DiceCE", "Eq. 1")
    beta_la: float = opt(BETA_LA, "the paper's loss and prior", "weight of L_LA", "Eq. 5")
    beta_scar: float = opt(BETA_SCAR, "the paper's loss and prior", "weight of L_scar", "Eq. 5")
    alpha_max: float = opt(
        ALPHA_MAX,
        "the paper's loss and prior",
        "final wall weight alpha of W = 1 + alpha M_wall",
        "Eq. 7, docs/design.md §2",
    )
    alpha_ramp_epochs: int = opt(
        RAMP_EPOCHS,
        "the paper's loss and prior",
        "epochs over which alpha(t) ramps from 0 to its maximum",
        "Eq. 7, docs/design.md §2",
    )
    delta_in_mm: float = opt(
        DELTA_IN_MM, "the paper's loss and prior", "wall band depth into the LA, mm", "Eq. 6"
    )
    delta_out_mm: float = opt(
        DELTA_OUT_MM, "the paper's loss and prior", "wall band width outside the LA, mm", "Eq. 6"
    )
    patch: tuple[int, int, int] = opt(
        PATCH,
        "augmentation, patches and the sliding window",
        "training patch and sliding window, voxels; the paper's 228 is not divisible by 32",
        "docs/design.md §0",
    )
    spacing_mm: tuple[float, float, float] = opt(
        TARGET_SPACING_MM,
        "augmentation, patches and the sliding window",
        "target voxel spacing, mm",
        "paper §4.1",
    )
    size: tuple[int, int, int] = opt(
        TARGET_SIZE,
        "augmentation, patches and the sliding window",
        "preprocessed volume size, voxels",
        "paper §4.1",
    )
    overlap: float = opt(
        OVERLAP,
        "augmentation, patches and the sliding window",
        "sliding-window overlap",
        "docs/design.md §6",
    )
    sw_batch_size: int = opt(
        2, "augmentation, patches and the sliding window", "windows per sliding-window batch"
    )
    device: str = opt("auto", "speed and devices", "cpu, cuda, cuda:N, or auto: cuda if present")
    amp: str = opt(
        "auto",
        "speed and devices",
        "autocast: bf16, fp16, off, or auto: bf16 on CUDA when supported, off on the CPU",
        "docs/design.md §2",
    )
    deterministic: bool = opt(
        False,
        "speed and devices",
        "deterministic kernels and a fixed thread count",
        "docs/design.md §2",
    )
    channels_last: bool = opt(
        False, "speed and devices", "channels_last_3d memory, speed only", "docs/design.md §11"
    )
    compile: bool = opt(
        False, "speed and devices", "torch.compile the model, speed only", "docs/design.md §11"
    )
    phantom_task1: int = opt(
        10, "phantoms (no --data)", "phantom scans with LA and scar", "docs/design.md §7"
    )
    phantom_task2_only: int = opt(
        10, "phantoms (no --data)", "extra LA-only phantom scans", "docs/design.md §7"
    )
    phantom_shape: tuple[int, int, int] = opt(
        REALISTIC_SHAPE, "phantoms (no --data)", "raw phantom size, voxels", "docs/design.md §5, §7"
    )
    phantom_spacing: tuple[float, float, float] = opt(
        REALISTIC_SPACING,
        "phantoms (no --data)",
        "raw phantom spacing, mm",
        "docs/design.md §5, §7",
    )
    out: str = opt(
        ".",
        "output",
        "folder of stage{N}.pt, stage{N}.last.pt and stage{N}.log.jsonl",
        "docs/design.md §2",
    )
    progress: str = opt(
        "auto",
        "output",
        "progress bars: on, off, or auto: bars only on a terminal, else one line per epoch",
    )

    def __post_init__(self):
        if isinstance(self.progress, bool):  # older checkpoints and tests: True / False
            object.__setattr__(self, "progress", "on" if self.progress else "off")
        problems = [
            f"--{name.replace('_', '-')} {getattr(self, name)!r}: {why}"
            for name, ok, why in _checks(self)
            if not ok
        ]
        if problems:
            raise ValueError("invalid configuration: " + "; ".join(problems))

    @property
    def bars(self) -> bool:
        """Whether to draw progress bars: --progress on, or auto and both standard output and
        standard error are a terminal (a redirected log gets one line per epoch instead)."""
        return show_bars(self.progress)


def show_bars(progress: str) -> bool:
    """--progress on / off / auto -> bars or not (auto: only on a terminal)."""
    if progress == "auto":
        return sys.stdout.isatty() and sys.stderr.isatty()
    return progress == "on"


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
        ("select_from", c.select_from >= -1, "must be >= 0, or -1 (the end of the alpha ramp)"),
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
        ("progress", c.progress in PROGRESS_CHOICES, f"must be one of {PROGRESS_CHOICES}"),
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
    "splits",  # a moved file; a different assignment is refused (split_sha256)
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


def help_text(f: dataclasses.Field) -> str:
    """ "early-stopping patience in epochs (paper §4.2; default: 30)": what, source, default."""
    source = f"{f.metadata['source']}; " if f.metadata["source"] else ""
    default = " ".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
    return f"{f.metadata['help']} ({source}default: {default})"


def add_arguments(parser: argparse.ArgumentParser, skip: tuple[str, ...] = ("stage",)) -> None:
    """One --option per field in its titled group; defaults suppressed (so that explicit values
    are known), help as `help_text`."""
    hints = get_type_hints(TrainConfig)
    groups = {title: option_group(parser, title) for title in GROUPS}
    for f in dataclasses.fields(TrainConfig):
        if f.name in skip:
            continue
        group, name, kind = (
            groups[f.metadata["group"]],
            "--" + f.name.replace("_", "-"),
            hints[f.name],
        )
        common = dict(default=argparse.SUPPRESS, help=help_text(f))
        if f.name == "progress":
            add_progress_options(group, argparse.SUPPRESS, common["help"])
        elif kind is bool:
            group.add_argument(name, action=argparse.BooleanOptionalAction, **common)
        elif str(kind).startswith("tuple"):
            elem = float if "float" in str(kind) else int
            group.add_argument(name, type=elem, nargs=3, metavar=("X", "Y", "Z"), **common)
        elif f.name == "amp":
            group.add_argument(name, choices=AMP_CHOICES, **common)
        else:
            group.add_argument(name, type={int: int, float: float}.get(kind, str), **common)


def add_progress_options(parser, default="auto", help: str | None = None) -> None:
    """--progress [auto|on|off] (a bare --progress: on) and --no-progress (= off), sharing one
    destination; train.py, eval.py and predict.py all read them (show_bars)."""
    help = help or "progress bars: on, off, or auto: only on a terminal (default: auto)"
    parser.add_argument(
        "--progress", nargs="?", const="on", choices=PROGRESS_CHOICES, default=default, help=help
    )
    parser.add_argument(
        "--no-progress",
        dest="progress",
        action="store_const",
        const="off",
        default=argparse.SUPPRESS,
        help="--progress off",
    )


def option_group(parser: argparse.ArgumentParser, title: str):
    """The parser's argument group of that title (created on first use, so that train.py can add
    its own options to the same groups before the fields)."""
    for g in parser._action_groups:
        if g.title == title:
            return g
    return parser.add_argument_group(title)


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
