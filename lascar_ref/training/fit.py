"""Train one stage: the epoch loop and the training step — paper §3.2, Eq. (2)-(9), §4.2;
docs/design.md §2. The file to read beside the paper.

`fit(cfg)` looks the stage up in the stage table, sets the run up (start.py: the --out lock and
the fold's data; setup.py: model, --init weights, protection, optimiser, exact resume), then
for each epoch: `loss_weights` (lam, Eq. 1; alpha(t), Eq. 7, in the stage with the wall prior;
beta, Eq. 5), `train_epoch` (one augmented patch per case, Eq. 2 and Table 1 in augment/; under
torchrun each rank its share, runtime/distributed.py), whose `train_step` runs the forward (Eq. 4,
models/), the stage table's loss called directly (Stage II: losses/stage_losses.stage2_loss, Eq. 5
with the W-weighted scar term of Eq. 7-8, DiceCE of Eq. 1 in losses/dice_ce.py), backward and the
optimiser step; then validation, early stopping, checkpoints, a log line (epoch_end.py). One
autocast (runtime/device.py); a GradScaler only for fp16; float32 losses; unscaled clipping.
A non-finite loss takes no step: up to FP16_SKIPS in a row under fp16 (the scaler
calibrating), otherwise training stops. Files in cfg.out: stage{N}.pt
(best validation Dice; at the end, its flip check reference: flip_reference.py), stage{N}.last.pt
(every epoch, to resume), stage{N}.log.jsonl; a resumed run ends bit-identical on the CPU (same
thread count; docs/design.md §2, "Determinism").
Tests: tests/test_train_step.py, tests/test_train_resume.py, tests/test_train_e2e.py
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import torch
from tqdm import tqdm

from ..augment import augment
from ..checkpoints import check_world_size, load_checkpoint, save_checkpoint
from ..config import TrainConfig
from ..errors import TrainingError
from ..losses import alpha_schedule
from ..runtime import distributed, rank_zero
from ..runtime.device import determinism, resolve_device
from ..stage_data import CaseTensors
from ..stage_table import STAGES, StageSpec, Terms
from .epoch_end import validate_epoch, write_epoch
from .flip_reference import record_flip_reference
from .report import epoch_line
from .setup import Run, load_init, setup_run, stage_paths
from .start import case_facts, check_split, fold_tensors, log_start, take_out_folder

__all__ = ["fit", "stage_paths"]
FP16_SKIPS = 5  # consecutive non-finite fp16 steps allowed before training stops


def fit(cfg: TrainConfig, say=print) -> dict:
    """Train one stage. Returns {"best": best validation Dice, "best_epoch", "epochs_run",
    "complete" (early stopping fired or max_epochs reached), "paths": {"best", "last", "log"}}."""
    spec, world = STAGES[cfg.stage], distributed.current()
    say = distributed.main_say(say, world)
    device = distributed.rank_device(resolve_device(cfg.device), world)
    paths = stage_paths(cfg.out, cfg.stage)
    resume = load_checkpoint(cfg.resume, (cfg.stage,), schema="resume") if cfg.resume else None
    if resume:
        check_world_size(resume, world.size, cfg.resume)
    init = load_init(cfg, spec) if cfg.init and not resume else None
    with contextlib.ExitStack() as held:
        rank_zero.main_only(lambda: take_out_folder(cfg, say, held), world)
        held.enter_context(determinism(cfg.deterministic, device))
        train, val, split = fold_tensors(cfg, spec, device, say, world)
        check_split(resume, split["split_sha256"], cfg)
        prior, stats = case_facts(cfg, spec, train)  # the scar prior, the input check's features
        given = (cfg, spec, device, init, resume, split["split_sha256"], say, world, prior, stats)
        run, start = setup_run(*given)
        log_start(run, cfg, start, (len(train), len(val)), split, paths["log"], say)
        budget = NonFiniteBudget.for_amp(run.amp_dtype)
        state, epoch = None, start - 1
        for epoch in tqdm(range(start, cfg.max_epochs), f"stage {cfg.stage}", disable=not run.bars):
            if run.stopper.stop:
                break
            t0 = time.perf_counter()
            weights = loss_weights(spec, cfg, epoch)
            alpha = weights.get("alpha_t", 0.0)
            record = {"stage": cfg.stage, "epoch": epoch, "alpha_t": alpha}
            record.update(train_epoch(run, train, cfg, weights, epoch, budget), lr=run.lrs())
            improved = validate_epoch(run, val, cfg, epoch, record)
            record["seconds"] = time.perf_counter() - t0
            state = run.record(cfg, epoch, alpha, record)  # every rank: gathers their RNG states
            if world.main:
                write_epoch(state, record, improved, paths)
            (tqdm.write if run.bars else say)(epoch_line(record))
        if world.main and state is not None and not paths["best"].exists():  # no validation ran
            save_checkpoint(state, paths["best"])
        if world.main and val and paths["best"].exists():  # flip_reference.py
            record_flip_reference(paths["best"], spec, cfg, val, run.amp_dtype, device)
        distributed.barrier()  # the files are written before any rank goes on
    return {
        "best": run.stopper.best,
        "best_epoch": run.stopper.best_epoch,
        "epochs_run": epoch + 1 - start,
        "complete": run.complete(cfg, epoch),
        "paths": {k: str(v) for k, v in paths.items()},
    }


def loss_weights(spec: StageSpec, cfg: TrainConfig, epoch: int) -> dict[str, float]:
    """The keywords of this epoch's stage loss (spec.loss_weights): lam (Eq. 1), alpha_t (Eq. 7,
    ramping only with the wall prior), beta_la, beta_scar (Eq. 5), wall_weighting (Eq. 8's W)."""
    alpha = alpha_schedule(epoch, cfg.alpha_max, cfg.alpha_ramp_epochs) if spec.wall_prior else 0.0
    every = {"lam": cfg.lam, "alpha_t": alpha, "beta_la": cfg.beta_la, "beta_scar": cfg.beta_scar,
             "wall_weighting": cfg.wall_weighting}  # fmt: skip
    return {name: every[name] for name in spec.loss_weights}


def train_epoch(
    run: Run, cases: list[CaseTensors], cfg: TrainConfig, weights: dict, epoch: int, budget
) -> dict[str, float]:
    """Train one epoch of the stage loss with this epoch's `weights` (loss_weights), skipping
    non-finite steps while `budget` allows; returns the mean of every loss term over the finite
    steps (and over the ranks under torchrun, where this rank trains on its share of the epoch's
    order). Errors name stage, epoch and step."""
    sampler, aug = run.gens
    where = f"stage {cfg.stage}, epoch {epoch}"
    order = distributed.shard_batches(
        epoch_order(len(cases), cfg.steps_per_epoch, sampler), cfg.batch_size, run.world
    )
    sums, count = {}, 0
    steps = range(0, len(order), cfg.batch_size)
    bar = tqdm(steps, desc=where, unit="step", disable=not run.bars, leave=False)
    for step in bar:
        batch = [cases[int(i)] for i in order[step : step + cfg.batch_size]]
        image = torch.cat([c.image for c in batch])  # (B, 1, X, Y, Z)
        labels = torch.cat([c.labels for c in batch])  # (B, 3, X, Y, Z): LA, scar, wall
        out = augment(  # Eq. 2: label-guided patch, then Table 1
            image, labels, cfg.patch, cfg.spacing_mm, aug, fg_indices=[c.fg for c in batch]
        )
        terms, finite = train_step(
            run.trained, out["image"], out["labels"], run.optimizer, run.scaler, run.spec.loss,
            weights, run.autocast, cfg.grad_clip,
        )  # fmt: skip
        if not finite:
            if not budget.spend():
                raise TrainingError(
                    f"non-finite loss at {where}, step {step} ({terms}); stopping. "
                    f"The last good checkpoint is left as it was."
                )
            continue
        budget.reset()
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v
        count += 1
        bar.set_postfix(loss=f"{terms['loss']:.4f}")
    return distributed.mean_over_ranks({k: v / max(count, 1) for k, v in sums.items()})


def train_step(
    model: torch.nn.Module,
    image: torch.Tensor,
    labels: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    loss: Callable[..., Terms],
    weights: dict[str, float],
    autocast: Callable[[], contextlib.AbstractContextManager],
    grad_clip: float = 0.0,
) -> tuple[dict[str, float], bool]:
    """One optimisation step of the stage loss `loss(outputs, labels, **weights)` (StageSpec.loss).
    image (B, 1, *patch), labels (B, 3, *patch) -> (loss terms, finite?). A non-finite loss takes
    no step."""
    optimizer.zero_grad(set_to_none=True)
    with autocast():
        outputs = model(image)  # Eq. 4; Stage II: (Y_hat_LA, Y_hat_scar), each (B, 1, *patch)
    terms = loss(outputs, labels, **weights)  # float32: the losses leave autocast themselves
    if not distributed.all_true(bool(torch.isfinite(terms["loss"]))):  # torchrun: all skip
        return {k: float(v.detach()) for k, v in terms.items()}, False
    scaler.scale(terms["loss"]).backward()
    if grad_clip > 0:
        scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
        params = [p for g in optimizer.param_groups for p in g["params"]]
        torch.nn.utils.clip_grad_norm_(params, grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return {k: float(v.detach()) for k, v in terms.items()}, True


def epoch_order(n_cases: int, steps: int, sampler: torch.Generator) -> torch.Tensor:
    """Case indices of one epoch: a permutation (steps = 0) or `steps` draws with replacement."""
    if steps:
        return torch.randint(0, n_cases, (steps,), generator=sampler)
    return torch.randperm(n_cases, generator=sampler)


class NonFiniteBudget:  # skips left for consecutive non-finite losses; else 0 (the first stops)
    def __init__(self, allowance: int):
        self.allowance = self.left = allowance

    @classmethod
    def for_amp(cls, amp_dtype: torch.dtype | None) -> NonFiniteBudget:  # FP16_SKIPS under fp16
        return cls(FP16_SKIPS if amp_dtype == torch.float16 else 0)

    def spend(self) -> bool:  # one skip; False when none was left (training must stop)
        self.left -= 1
        return self.left >= 0

    def reset(self) -> None:  # a finite step: the whole allowance again
        self.left = self.allowance
