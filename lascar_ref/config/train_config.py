"""Training configuration: one frozen dataclass, every default tagged with its source — paper §3.2,
§4.1, §4.2; docs/design.md §2.

Paper constants are imported from the module that uses them (λ from losses/dice_ce.py, β and α's
ramp from losses/stage_losses.py, δ from losses/wall_mask.py, patch and overlap held here, the
target grid from data/preprocess.py, the fold count from data/folds.py), so each has exactly one
source. Each field carries its -h group, what it does and its source; cli.py turns the fields into
train.py's options, checks.py validates the values (before any data is read; errors name
the option, docs/design.md §8), presets.py holds the presets ("paper": the defaults; "demo": a
small CPU run on phantoms, per-stage epochs) that `make_config` applies.
Deviation (the paper is silent): AdamW weight decay 1e-5 (MONAI's tutorial value) and no
gradient clipping (docs/design.md §2); the training patch 224 x 192 x 32 instead of 228
(docs/design.md §0). The demo preset is not the paper's recipe (docs/design.md §7).
Tests: tests/test_config.py
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field

from ..data.folds import N_FOLDS
from ..data.phantom import REALISTIC_SHAPE, REALISTIC_SPACING
from ..data.preprocess import TARGET_SIZE, TARGET_SPACING_MM
from ..losses.dice_ce import LAM
from ..losses.stage_losses import ALPHA_MAX, BETA_LA, BETA_SCAR, RAMP_EPOCHS
from ..losses.wall_mask import DELTA_IN_MM, DELTA_OUT_MM
from .checks import config_checks
from .presets import PRESETS

PATCH = (224, 192, 32)  # training patch and sliding window, docs/design.md §0
OVERLAP = 0.5  # sliding-window overlap, docs/design.md §6

HELP_GROUPS = (  # train.py -h shows the options in these titled groups, in this order (cli.py)
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
RUN, DATA, MODEL, OPTIM, LOSS, PATCHES, SPEED, PHANTOMS, OUTPUT = HELP_GROUPS


def opt(default, group: str, help: str, source: str = ""):
    """A dataclass field: its default, its -h group, what it does and where its value comes from
    ("paper §4.2", "Eq. 5", "docs/design.md §2"; empty where the option is ours alone)."""
    assert group in HELP_GROUPS, group
    return field(default=default, metadata={"group": group, "help": help, "source": source})


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run of one stage reads (docs/design.md §2)."""

    stage: int = opt(1, RUN, "the stage to train: 1, 2 or 3", "paper §3.2")
    init: str | None = opt(
        None, RUN, "weights of an earlier stage, or MONAI weights", "docs/design.md §2"
    )
    resume: str | None = opt(
        None, RUN, "a stage{N}.last.pt to continue exactly", "docs/design.md §2"
    )
    data: str | None = opt(
        None,
        DATA,
        "dataset folder: LAScarQS (task1/, task2/), Decathlon or nnU-Net (dataset.json, "
        "imagesTr/, labelsTr/); none: built-in phantoms",
        "docs/design.md §5, §7",
    )
    labels: str | None = opt(
        None,
        DATA,
        "label values of a label map, e.g. la=1,2,scar=2 (none: from dataset.json's names)",
        "docs/design.md §5",
    )
    splits: str | None = opt(
        None,
        DATA,
        "a split file (python -m lascar_ref.data folds, or nnU-Net's splits_final.json) "
        "instead of the seed's folds; its fold count is used",
        "docs/design.md §5",
    )
    cache: str = opt(
        ".cache/lascar_ref",
        DATA,
        "folder for preprocessed volumes and phantom data",
        "docs/design.md §5",
    )
    fold: int = opt(0, DATA, "validation fold", "paper §4.2")
    n_folds: int = opt(N_FOLDS, DATA, "number of cross-validation folds", "paper §4.2")
    seed: int = opt(0, DATA, "seed of folds, weights and patches", "paper §4.2")
    feature_size: int = opt(
        48, MODEL, "SwinUNETR feature size, a multiple of 12", "docs/design.md §1"
    )
    use_checkpoint: bool = opt(
        False, MODEL, "gradient checkpointing of the Swin blocks", "docs/design.md §1"
    )
    scar_bias_init: str = opt(
        "prior",
        MODEL,
        "output bias of a new (random) scar head: prior: log(pi / (1 - pi)), pi the scar "
        "fraction of the training fold's crops; default: torch's",
        "docs/design.md §2",
    )
    lr: float = opt(1e-4, OPTIM, "AdamW learning rate", "paper §4.2")
    pretrained_lr_scale: float = opt(
        0.1,
        OPTIM,
        "lr factor of a loaded E and D_LA in Stage II, 'updated cautiously'",
        "paper §3.2, docs/design.md §2",
    )
    weight_decay: float = opt(
        1e-5, OPTIM, "AdamW weight decay; paper silent, MONAI tutorial value", "docs/design.md §2"
    )
    grad_clip: float = opt(
        0.0, OPTIM, "gradient-norm clipping, 0 = none; paper silent", "docs/design.md §2"
    )
    batch_size: int = opt(1, OPTIM, "patches per step", "paper §4.2")
    max_epochs: int = opt(250, OPTIM, "epoch limit", "paper §4.2")
    patience: int = opt(30, OPTIM, "early-stopping patience in epochs", "paper §4.2")
    min_delta: float = opt(1e-4, OPTIM, "smallest validation gain that counts", "paper §4.2")
    select_from: int = opt(
        -1,
        OPTIM,
        "first epoch that may be kept as the best checkpoint or count towards patience; -1: "
        "where alpha(t) reaches its maximum in Stage II, 0 in Stages I and III",
        "docs/design.md §2",
    )
    val_every: int = opt(1, OPTIM, "validate every N epochs", "docs/design.md §2")
    steps_per_epoch: int = opt(
        0, OPTIM, "patches per epoch, 0 = one per training case", "docs/design.md §2"
    )
    lam: float = opt(LAM, LOSS, "Dice weight of DiceCE", "Eq. 1")
    beta_la: float = opt(BETA_LA, LOSS, "weight of L_LA", "Eq. 5")
    beta_scar: float = opt(BETA_SCAR, LOSS, "weight of L_scar", "Eq. 5")
    alpha_max: float = opt(
        ALPHA_MAX,
        LOSS,
        "final wall weight alpha of W = 1 + alpha M_wall",
        "Eq. 7, docs/design.md §2",
    )
    alpha_ramp_epochs: int = opt(
        RAMP_EPOCHS,
        LOSS,
        "epochs over which alpha(t) ramps from 0 to its maximum",
        "Eq. 7, docs/design.md §2",
    )
    wall_weighting: str = opt(
        "paper",
        LOSS,
        "voxel weight of the Stage II scar loss: paper: W = 1 + alpha M_wall (Eq. 7); suppress: "
        "also weigh up negatives outside the wall and down labelled scar there (a Deviation, "
        "opt-in)",
        "Eq. 7-8, docs/design.md §3",
    )
    delta_in_mm: float = opt(DELTA_IN_MM, LOSS, "wall band depth into the LA, mm", "Eq. 6")
    delta_out_mm: float = opt(DELTA_OUT_MM, LOSS, "wall band width outside the LA, mm", "Eq. 6")
    patch: tuple[int, int, int] = opt(
        PATCH,
        PATCHES,
        "training patch and sliding window, voxels; the paper's 228 is not divisible by 32",
        "docs/design.md §0",
    )
    spacing_mm: tuple[float, float, float] = opt(
        TARGET_SPACING_MM, PATCHES, "target voxel spacing, mm", "paper §4.1"
    )
    size: tuple[int, int, int] = opt(
        TARGET_SIZE, PATCHES, "preprocessed volume size, voxels", "paper §4.1"
    )
    overlap: float = opt(OVERLAP, PATCHES, "sliding-window overlap", "docs/design.md §6")
    sw_batch_size: int = opt(2, PATCHES, "windows per sliding-window batch")
    device: str = opt("auto", SPEED, "cpu, cuda, cuda:N, or auto: cuda if present")
    amp: str = opt(
        "auto",
        SPEED,
        "autocast: bf16, fp16, off, or auto: bf16 on CUDA when supported, off on the CPU",
        "docs/design.md §2",
    )
    deterministic: bool = opt(
        False, SPEED, "deterministic kernels and a fixed thread count", "docs/design.md §2"
    )
    channels_last: bool = opt(
        False, SPEED, "channels_last_3d memory, speed only", "docs/design.md §11"
    )
    compile: bool = opt(False, SPEED, "torch.compile the model, speed only", "docs/design.md §11")
    phantom_task1: int = opt(10, PHANTOMS, "phantom scans with LA and scar", "docs/design.md §7")
    phantom_task2_only: int = opt(10, PHANTOMS, "extra LA-only phantom scans", "docs/design.md §7")
    phantom_shape: tuple[int, int, int] = opt(
        REALISTIC_SHAPE, PHANTOMS, "raw phantom size, voxels", "docs/design.md §5, §7"
    )
    phantom_spacing: tuple[float, float, float] = opt(
        REALISTIC_SPACING, PHANTOMS, "raw phantom spacing, mm", "docs/design.md §5, §7"
    )
    out: str = opt(
        ".",
        OUTPUT,
        "folder of stage{N}.pt, stage{N}.last.pt and stage{N}.log.jsonl",
        "docs/design.md §2",
    )
    progress: str = opt(
        "auto",
        OUTPUT,
        "progress bars: on, off, or auto: bars only on a terminal, else one line per epoch",
    )

    def __post_init__(self):
        if isinstance(self.progress, bool):  # older checkpoints and tests: True / False
            object.__setattr__(self, "progress", "on" if self.progress else "off")
        problems = [
            f"--{name.replace('_', '-')} {getattr(self, name)!r}: {why}"
            for name, ok, why in config_checks(self)
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
