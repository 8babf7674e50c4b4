"""Everything a stage run trains and checkpoints, built in one place — paper §3.2;
docs/design.md §2.

`setup_run` builds the stage's model (fresh random weights from the seed), loads the --init
weights (checkpoints/init_weights.py: an earlier stage, or MONAI weights) or the --resume state,
freezes and groups the parameters by the stage table (protection only for loaded groups), and
creates the optimiser (AdamW), the GradScaler (fp16 only), the autocast context
(runtime/device.py), the two random streams (patch sampler, augmentation) and the early stopping,
and wraps the model for torchrun (DistributedDataParallel); all go into one `Run`, built by
keyword and never reassigned.
`Run.record` is the checkpoint of one epoch (checkpoints/record.CheckpointRecord).
Tests: tests/test_train_resume.py, tests/test_stage_protection.py
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import torch

from ..checkpoints.init_weights import WeightsFile, apply_weights, read_weights
from ..checkpoints.record import CheckpointRecord
from ..config import TrainConfig, config_dict
from ..errors import CheckpointError
from ..runtime import distributed
from ..runtime.device import autocast_for, resolve_amp
from ..runtime.distributed import SINGLE, World, augment_seed
from ..runtime.speed import apply_speed_options
from ..stage_table import STAGES, StageSpec, build_model, freeze, param_groups, selection_start
from .head_init import init_scar_bias
from .state import restore_training_state, rng_by_rank, rng_state
from .stopping import EarlyStopping


def stage_paths(out: str | Path, stage: int) -> dict[str, Path]:
    """{"best": stage{N}.pt, "last": stage{N}.last.pt, "log": stage{N}.log.jsonl} in `out`."""
    out = Path(out)
    suffixes = {"best": ".pt", "last": ".last.pt", "log": ".log.jsonl"}
    return {key: out / f"stage{stage}{suffix}" for key, suffix in suffixes.items()}


def early_stopping(spec: StageSpec, cfg: TrainConfig) -> EarlyStopping:
    """The stage's early stopping: patience and min delta (paper §4.2), counting from the
    stage's selection start (docs/design.md §2: Stage II from the end of the alpha(t) ramp)."""
    start = selection_start(spec, cfg.select_from, cfg.alpha_ramp_epochs)
    return EarlyStopping(cfg.patience, cfg.min_delta, start)


def load_init(cfg: TrainConfig, spec: StageSpec) -> WeightsFile:
    """The --init weights (an earlier stage's checkpoint, MONAI SwinUNETR weights or MONAI's
    self-supervised Swin encoder; checkpoints/init_weights.py), checked before any data is read: a
    lascar_ref checkpoint cannot initialise a stage the table starts from random weights (Stage I),
    and the feature size must match."""
    src = read_weights(cfg.init)
    if src.kind == "lascar" and not spec.init_from:
        later = ", ".join(str(n) for n, s in STAGES.items() if s.init_from)
        raise CheckpointError(
            f"{cfg.init}: Stage {spec.number} starts from random weights (paper §3.2); "
            f"--init of a lascar_ref checkpoint is for Stages {later}"
        )
    if src.feature_size != cfg.feature_size:
        raise CheckpointError(
            f"{cfg.init}: feature size {src.feature_size} does not match "
            f"--feature-size {cfg.feature_size}"
        )
    return src


@dataclass(frozen=True, kw_only=True)
class Run:
    """The trained and checkpointed objects of one stage run (never reassigned after setup_run)."""

    spec: StageSpec
    model: torch.nn.Module
    trained: torch.nn.Module  # model, or its DDP wrapper under torchrun
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    autocast: functools.partial  # `with run.autocast():` (runtime/device.autocast_for)
    gens: tuple[torch.Generator, torch.Generator]  # (patch sampler, augmentation)
    stopper: EarlyStopping
    loaded: list[str]  # module groups loaded from an earlier stage
    frozen: list[str]  # module prefixes frozen (only inside loaded groups)
    device: torch.device
    amp_dtype: torch.dtype | None  # autocast dtype, None = float32
    world: World = SINGLE  # this process among the torchrun processes
    bars: bool = False  # progress bars (--progress, on the main process only)
    init_sha256: str | None = None  # SHA-256 of the --init file (checkpoint "init_sha256")
    split_sha256: str | None = None  # SHA-256 of the fold assignment (data/splits.py)
    input_stats: dict | None = None  # features of the training images (inference/input_stats.py)

    def lrs(self) -> dict[str, float]:
        return {g["name"]: g["lr"] for g in self.optimizer.param_groups}

    def complete(self, cfg: TrainConfig, epoch: int) -> bool:
        """Training is over after `epoch`: early stopping fired or max_epochs is reached."""
        return self.stopper.stop or epoch + 1 >= cfg.max_epochs

    def record(self, cfg: TrainConfig, epoch: int, alpha: float, metrics: dict) -> CheckpointRecord:
        """The checkpoint after `epoch`; complete once early stopping fired or max_epochs is hit.
        Under torchrun every rank must call it (the ranks' RNG states are gathered)."""
        return CheckpointRecord(
            stage=self.spec.number,
            arch={"model": self.spec.model.__name__, "feature_size": cfg.feature_size},
            epoch=epoch,
            complete=self.complete(cfg, epoch),
            loaded_groups=list(self.loaded),
            init_sha256=self.init_sha256,
            split_sha256=self.split_sha256,
            model=self.model.state_dict(),
            optimizer=self.optimizer.state_dict(),
            scaler=self.scaler.state_dict(),
            early_stopping=self.stopper.state(),
            alpha_t=float(alpha),
            rng=rng_state(self.gens, self.device),
            rng_by_rank=rng_by_rank(self.gens, self.device),
            config=config_dict(cfg),
            metrics={k: v for k, v in metrics.items() if isinstance(v, float)},
            input_stats=self.input_stats,
        )


def setup_run(
    cfg: TrainConfig,
    spec: StageSpec,
    device: torch.device,
    init: WeightsFile | None = None,
    resume: dict | None = None,
    split_sha256: str | None = None,
    say=print,
    world: World = SINGLE,
    scar_prior: float | None = None,
    input_stats: dict | None = None,
) -> tuple[Run, int]:
    """(the run, the first epoch to train): fresh, initialised from `init`, or resumed; under
    torchrun (`world`) each rank restores its own random streams from the checkpoint. A new scar
    head starts with its bias at `scar_prior` when given (head_init.py; --scar-bias-init);
    `input_stats` (the training images' features) goes into every checkpoint."""
    amp_dtype = resolve_amp(cfg.amp, device)
    torch.manual_seed(cfg.seed)
    model = build_model(spec, cfg.feature_size, cfg.use_checkpoint)
    loaded = []
    if resume:
        loaded = list(resume.get("loaded_groups", []))
    elif init:
        loaded, report = apply_weights(init, model, spec)
        say(f"init from {report}")
    if scar_prior is not None and not resume:
        said = init_scar_bias(model, spec, loaded, scar_prior)
        if said:
            say(said)
    frozen = freeze(model, spec, loaded)
    model.to(device)
    apply_speed_options(model, cfg.channels_last, cfg.compile)
    groups = param_groups(model, spec, loaded, cfg.lr, cfg.pretrained_lr_scale)
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    gens = (  # the sampler is shared by all ranks, augmentation is rank-seeded (distributed.py)
        torch.Generator().manual_seed(cfg.seed),
        torch.Generator().manual_seed(augment_seed(cfg.seed, world.rank)),
    )
    stopper = early_stopping(spec, cfg)
    start = 0
    if resume:
        start = restore_training_state(
            resume, model, optimizer, scaler, stopper, gens, device, say, cfg.resume, world
        )
        say(f"resumed from {cfg.resume} at epoch {start}")
    run = Run(
        spec=spec,
        model=model,
        trained=distributed.wrap(model, device, world),  # DDP under torchrun, else the model
        optimizer=optimizer,
        scaler=scaler,
        autocast=autocast_for(device, amp_dtype),
        gens=gens,
        stopper=stopper,
        loaded=loaded,
        frozen=frozen,
        device=device,
        amp_dtype=amp_dtype,
        world=world,
        bars=cfg.bars and world.main,
        init_sha256=resume.get("init_sha256") if resume else (init.sha256 if init else None),
        split_sha256=split_sha256,
        input_stats=input_stats,
    )
    return run, start
