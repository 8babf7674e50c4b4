"""Train one stage end to end — paper §3.2, §4.2; docs/design.md §2.

`fit(cfg)` reads top to bottom: look the stage up in the stage table; resolve device and AMP;
check the init / resume checkpoint and that --out is writable; take the folder's lock (one writer
per --out, docs/design.md §8); load the fold's data; set up the run (stage_setup.py: model,
earlier-stage weights, freezing and lr groups for loaded groups only, optimiser, exact resume);
then the epoch loop: train (trainer.run_epoch), validate, early stopping, checkpoints, one log
line. Files in cfg.out: stage{N}.pt (best validation Dice), stage{N}.last.pt (every epoch, to
resume), stage{N}.log.jsonl. On the CPU an interrupted-and-resumed run ends bit-identical to an
uninterrupted one (same thread count; docs/design.md §2, "Determinism").
Tests: tests/test_train_resume.py, tests/test_train_e2e.py, tests/test_stage_protection.py
"""

from __future__ import annotations

import contextlib
import time

from tqdm import tqdm

from ..checkpoint import check_world_size, load_checkpoint, save_checkpoint
from ..config import TrainConfig
from ..run_log import log_record
from ..runtime import distributed
from ..runtime.device import determinism, resolve_amp, resolve_device
from ..stage_data import fold_cases, to_device
from ..stage_table import STAGES, LossWeights, alpha_t, loss_fn
from .report import epoch_line, start_line
from .run_lock import RunLock, check_writable
from .setup import Run, load_init, setup_run, stage_paths
from .step import run_epoch
from .stopping import NonFiniteBudget
from .validate import validate

__all__ = ["fit", "stage_paths"]


def fit(cfg: TrainConfig, say=print) -> dict:
    """Train one stage. Returns {"best": best validation Dice, "best_epoch", "epochs_run",
    "complete" (early stopping fired or max_epochs reached), "paths": {"best", "last", "log"}}."""
    spec = STAGES[cfg.stage]
    world = distributed.current()
    say = distributed.main_say(say, world)
    progress = cfg.progress and world.main
    device = distributed.rank_device(resolve_device(cfg.device), world)
    amp_dtype = resolve_amp(cfg.amp, device)
    paths = stage_paths(cfg.out, cfg.stage)
    resume = load_checkpoint(cfg.resume, (cfg.stage,), schema="resume") if cfg.resume else None
    if resume:
        check_world_size(resume, world.size, cfg.resume)
    init = load_init(cfg) if cfg.init and not resume else None
    with contextlib.ExitStack() as held:
        distributed.main_only(lambda: _take_out_folder(cfg, say, held), world)
        held.enter_context(determinism(cfg.deterministic, device))
        train_pre, val_pre = distributed.main_first(
            lambda: fold_cases(cfg, spec.task, cfg.stage, say), world
        )
        train = [to_device(p, spec.target, device) for p in train_pre]
        val = [to_device(p, spec.target, device) for p in val_pre]
        run, start = setup_run(cfg, spec, device, amp_dtype, init, resume, say, world)
        trained = distributed.wrap(run.model, device, world)  # DDP under torchrun
        start_record = {
            "event": "start",
            "stage": cfg.stage,
            "fold": cfg.fold,
            "epoch": start,
            "n_train": len(train),
            "n_val": len(val),
            "device": str(device),
            "amp": str(amp_dtype),
            "loaded": run.loaded,
            "frozen": run.frozen,
            "new": [g for g in spec.groups if g not in run.loaded],
            "lr": run.lrs(),
            "world_size": world.size,
        }
        say(start_line(start_record))
        if world.main:
            log_record(paths["log"], start_record)

        budget, state, epoch = NonFiniteBudget.for_amp(amp_dtype), None, start - 1
        epochs = range(start, cfg.max_epochs)
        for epoch in tqdm(epochs, desc=f"stage {cfg.stage}", unit="epoch", disable=not progress):
            if run.stopper.stop:
                break
            t0 = time.perf_counter()
            alpha = alpha_t(spec, epoch, cfg.alpha_max, cfg.alpha_ramp_epochs)
            terms = train_epoch(trained, run, train, cfg, amp_dtype, alpha, epoch, budget, world)
            record = {
                "stage": cfg.stage,
                "epoch": epoch,
                "alpha_t": alpha,
                **terms,
                "lr": run.lrs(),
            }
            improved = False
            if (epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.max_epochs:
                record.update(
                    validate(
                        run.model,
                        val,
                        spec,
                        patch=cfg.patch,
                        overlap=cfg.overlap,
                        sw_batch_size=cfg.sw_batch_size,
                        spacing_mm=cfg.spacing_mm,
                        amp_dtype=amp_dtype,
                        world=world,
                    )
                )
                improved = run.stopper.update(record["val_dice"], epoch)
                improved, run.stopper = distributed.broadcast((improved, run.stopper))
            record["seconds"] = time.perf_counter() - t0
            state = run.state(cfg, epoch, alpha, record)  # every rank: gathers their RNG states
            if world.main:
                if improved:
                    save_checkpoint(state, paths["best"])
                save_checkpoint(state, paths["last"])
                log_record(paths["log"], record)
            (tqdm.write if progress else say)(epoch_line(record))
        if world.main and state is not None and not paths["best"].exists():  # no validation ran
            save_checkpoint(state, paths["best"])
        distributed.barrier()  # the files are written before any rank goes on
    return {
        "best": run.stopper.best,
        "best_epoch": run.stopper.best_epoch,
        "epochs_run": epoch + 1 - start,
        "complete": run.complete(cfg, epoch),
        "paths": {k: str(v) for k, v in paths.items()},
    }


def _take_out_folder(cfg: TrainConfig, say, held: contextlib.ExitStack) -> None:
    """Check that --out is writable and hold its lock for the run (rank 0 only under torchrun)."""
    check_writable(cfg.out)
    held.enter_context(RunLock(cfg.out, say))


def train_epoch(
    trained,
    run: Run,
    cases,
    cfg: TrainConfig,
    amp_dtype,
    alpha: float,
    epoch: int,
    budget: NonFiniteBudget,
    world: distributed.World,
) -> dict[str, float]:
    """One epoch of the stage's loss at this epoch's alpha(t) on `trained` (run.model, or its
    DDP wrapper); the mean of every loss term (over the ranks under torchrun)."""
    weights = LossWeights(cfg.lam, cfg.beta_la, cfg.beta_scar, alpha)
    terms = run_epoch(
        trained,
        cases,
        run.optimizer,
        run.scaler,
        loss_fn(run.spec, weights),
        patch=cfg.patch,
        spacing_mm=cfg.spacing_mm,
        batch_size=cfg.batch_size,
        steps=cfg.steps_per_epoch,
        gens=run.gens,
        amp_dtype=amp_dtype,
        budget=budget,
        grad_clip=cfg.grad_clip,
        where=f"stage {cfg.stage}, epoch {epoch}",
        progress=cfg.progress and world.main,
        world=world,
    )
    return distributed.mean_over_ranks(terms)
