"""Train one stage end to end — paper §3.2, §4.2; docs/design.md §2.

`fit(cfg)` reads top to bottom: look the stage up in the stage table; resolve device and AMP;
check the init / resume checkpoint and that --out is writable; take the folder's lock (one
writer per --out, docs/design.md §8); load the fold's data; build the model, load earlier-stage
weights, freeze and group parameters (protection only for loaded groups); restore the exact
training state when resuming; then the epoch loop: train (trainer.run_epoch), validate, early
stopping, checkpoints (checkpoint.training_state), one log line.
Files in cfg.out: stage{N}.pt (best validation Dice), stage{N}.last.pt (every epoch, to resume),
stage{N}.log.jsonl. On the CPU, an interrupted-and-resumed run ends bit-identical to an
uninterrupted one (same thread count; docs/design.md §2, "Determinism").
Tests: tests/test_train_resume.py, tests/test_train_e2e.py, tests/test_stage_protection.py
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from tqdm import tqdm

from .checkpoint import (
    CheckpointError,
    load_checkpoint,
    restore_training_state,
    save_checkpoint,
    training_state,
)
from .config import TrainConfig, config_dict
from .models.transfer import transfer_weights
from .run_lock import RunLock, check_writable
from .runtime import determinism, resolve_amp, resolve_device
from .stage_data import fold_cases, to_device
from .stage_table import (
    STAGES,
    LossWeights,
    StageSpec,
    alpha_t,
    build_model,
    freeze,
    loss_fn,
    param_groups,
)
from .stopping import EarlyStopping, NonFiniteBudget
from .trainer import run_epoch, validate
from .training_log import epoch_line, log_record, start_line


def stage_paths(out: str | Path, stage: int) -> dict[str, Path]:
    """{"best": stage{N}.pt, "last": stage{N}.last.pt, "log": stage{N}.log.jsonl} in `out`."""
    out = Path(out)
    return {
        "best": out / f"stage{stage}.pt",
        "last": out / f"stage{stage}.last.pt",
        "log": out / f"stage{stage}.log.jsonl",
    }


def arch(spec: StageSpec, cfg: TrainConfig) -> dict:
    return {"model": spec.model.__name__, "feature_size": cfg.feature_size}


def load_init(cfg: TrainConfig) -> dict:
    """The --init checkpoint, refused for Stage I or
    a feature-size mismatch (before any data is read)."""
    if cfg.stage == 1:
        raise CheckpointError(
            f"{cfg.init}: Stage 1 starts from random weights (paper §3.2); "
            f"--init is for Stages 2, 3"
        )
    state = load_checkpoint(cfg.init, schema="weights")
    if state["arch"]["feature_size"] != cfg.feature_size:
        raise CheckpointError(
            f"{cfg.init}: feature size {state['arch']['feature_size']} does not match "
            f"--feature-size {cfg.feature_size}"
        )
    return state


def fit(cfg: TrainConfig, say=print) -> dict:
    """Train one stage. Returns {"best": best
    validation Dice, "best_epoch", "epochs_run", "complete"
    (True when max_epochs was reached or early
    stopping fired), "paths": {"best", "last", "log"}}."""
    spec = STAGES[cfg.stage]
    device = resolve_device(cfg.device)
    amp_dtype = resolve_amp(cfg.amp, device)
    paths = stage_paths(cfg.out, cfg.stage)
    resume = (
        load_checkpoint(cfg.resume, stages=(cfg.stage,), schema="resume") if cfg.resume else None
    )
    init = load_init(cfg) if cfg.init and not resume else None
    check_writable(cfg.out)
    with RunLock(cfg.out, say), determinism(cfg.deterministic, device):
        train_pre, val_pre = fold_cases(cfg, spec.task, cfg.stage, say)
        train = [to_device(p, spec.target, device) for p in train_pre]
        val = [to_device(p, spec.target, device) for p in val_pre]

        torch.manual_seed(cfg.seed)
        model = build_model(spec, cfg.feature_size, cfg.use_checkpoint)
        if resume:
            loaded = list(resume.get("loaded_groups", []))
        elif init:
            report = transfer_weights(
                init["model"], init["stage"], model, cfg.stage, source=str(cfg.init)
            )
            say(f"init from {cfg.init} (Stage {init['stage']}): {report}")
            loaded = report.loaded_groups()
        else:
            loaded = []
        frozen = freeze(model, spec, loaded)
        model.to(device)
        optimizer = torch.optim.AdamW(
            param_groups(model, spec, loaded, cfg.lr, cfg.pretrained_lr_scale),
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
        )
        scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
        gens = (
            torch.Generator().manual_seed(cfg.seed),
            torch.Generator().manual_seed(cfg.seed + 1),
        )
        stopper = EarlyStopping(cfg.patience, cfg.min_delta)
        start = 0
        if resume:
            start = restore_training_state(
                resume, model, optimizer, scaler, stopper, gens, device, say, cfg.resume
            )
            say(f"resumed from {cfg.resume} at epoch {start}")

        start_record = {
            "event": "start",
            "stage": cfg.stage,
            "fold": cfg.fold,
            "epoch": start,
            "n_train": len(train),
            "n_val": len(val),
            "device": str(device),
            "amp": str(amp_dtype),
            "loaded": loaded,
            "new": [g for g in spec.groups if g not in loaded],
            "frozen": frozen,
            "lr": {g["name"]: g["lr"] for g in optimizer.param_groups},
        }
        say(start_line(start_record))
        paths["log"].parent.mkdir(parents=True, exist_ok=True)
        log_record(paths["log"], start_record)

        budget = NonFiniteBudget.for_amp(amp_dtype)
        state, epoch = None, start - 1
        bar = tqdm(
            range(start, cfg.max_epochs),
            desc=f"stage {cfg.stage}",
            unit="epoch",
            disable=not cfg.progress,
        )
        for epoch in bar:
            if stopper.stop:
                break
            t0, alpha = (
                time.perf_counter(),
                alpha_t(spec, epoch, cfg.alpha_max, cfg.alpha_ramp_epochs),
            )
            weights = LossWeights(cfg.lam, cfg.beta_la, cfg.beta_scar, alpha)
            terms = run_epoch(
                model,
                train,
                optimizer,
                scaler,
                loss_fn(spec, weights),
                patch=cfg.patch,
                spacing_mm=cfg.spacing_mm,
                batch_size=cfg.batch_size,
                steps=cfg.steps_per_epoch,
                gens=gens,
                amp_dtype=amp_dtype,
                budget=budget,
                grad_clip=cfg.grad_clip,
                where=f"stage {cfg.stage}, epoch {epoch}",
                progress=cfg.progress,
            )
            record = {
                "stage": cfg.stage,
                "epoch": epoch,
                "alpha_t": alpha,
                **terms,
                "lr": {g["name"]: g["lr"] for g in optimizer.param_groups},
            }
            improved = False
            if (epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.max_epochs:
                record.update(
                    validate(
                        model,
                        val,
                        spec,
                        patch=cfg.patch,
                        overlap=cfg.overlap,
                        sw_batch_size=cfg.sw_batch_size,
                        spacing_mm=cfg.spacing_mm,
                        amp_dtype=amp_dtype,
                    )
                )
                improved = stopper.update(record["val_dice"], epoch)
            record["seconds"] = time.perf_counter() - t0
            complete = stopper.stop or epoch + 1 == cfg.max_epochs
            state = training_state(
                stage=cfg.stage,
                arch=arch(spec, cfg),
                epoch=epoch,
                complete=complete,
                loaded_groups=loaded,
                model=model,
                optimizer=optimizer,
                scaler=scaler,
                stopper=stopper,
                alpha_t=alpha,
                gens=gens,
                device=device,
                config=config_dict(cfg),
                metrics=record,
            )
            if improved:
                save_checkpoint(state, paths["best"])
            save_checkpoint(state, paths["last"])
            log_record(paths["log"], record)
            (tqdm.write if cfg.progress else say)(epoch_line(record))
        if state is not None and not paths["best"].exists():  # no validation ran in this run
            save_checkpoint(state, paths["best"])
    complete = stopper.stop or epoch + 1 >= cfg.max_epochs
    return {
        "best": stopper.best,
        "best_epoch": stopper.best_epoch,
        "epochs_run": epoch + 1 - start,
        "complete": complete,
        "paths": {k: str(v) for k, v in paths.items()},
    }
