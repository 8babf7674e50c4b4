"""Run one stage end to end: data, model, init or resume, the epoch loop, checkpoints — DESIGN.md §2.

Files in cfg.out: stage{N}.pt (best validation Dice), stage{N}.last.pt (every epoch, to resume),
stage{N}.log.jsonl (one record per epoch). --init loads weights of an earlier stage (checked for
stage and architecture before any training; prints loaded / new / dropped module groups);
--resume restores model, optimizer, scaler, epoch, early stopping, alpha(t) and every RNG, so an
interrupted CPU run ends bit-identical to an uninterrupted one.
Tests: tests/test_train_resume.py, tests/test_train_e2e.py
"""
from __future__ import annotations

from pathlib import Path

import torch
from tqdm import tqdm

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import TrainConfig, config_dict
from .dataset import fold_cases, to_device
from .models.transfer import transfer_weights
from .stages import TARGET, alpha_t, build_model, freeze, param_groups
from .trainer import (NONFINITE_SKIPS_FP16, EarlyStopping, epoch_line, log_epoch, now, resolve_amp, resolve_device,
                      run_epoch, validate)


def arch(cfg: TrainConfig) -> dict:
    return {"model": "DualSwinUNETR" if cfg.stage == 2 else "SwinUNETR", "feature_size": cfg.feature_size}


def init_from(model, cfg: TrainConfig, say) -> None:
    """Load an earlier stage's weights into `model` (DESIGN.md §2), refusing wrong stage or architecture."""
    if cfg.stage == 1:
        raise CheckpointError(f"{cfg.init}: Stage 1 starts from random weights (paper §3.2); --init is for Stages 2, 3")
    state = load_checkpoint(cfg.init)
    if state["arch"]["feature_size"] != cfg.feature_size:
        raise CheckpointError(f"{cfg.init}: feature size {state['arch']['feature_size']} does not match "
                              f"--feature-size {cfg.feature_size}")
    report = transfer_weights(state["model"], state["stage"], model, cfg.stage, source=str(cfg.init))
    say(f"init from {cfg.init} (Stage {state['stage']}): {report}")


def fit(cfg: TrainConfig, say=print) -> dict:
    """Train one stage; returns {"best": best validation Dice, "best_epoch", "epochs", "paths"}."""
    device = resolve_device(cfg.device)
    amp_dtype = resolve_amp(cfg.amp, device)
    out = Path(cfg.out)
    paths = {k: out / f"stage{cfg.stage}{s}" for k, s in (("best", ".pt"), ("last", ".last.pt"), ("log", ".log.jsonl"))}
    resume = load_checkpoint(cfg.resume, stages=(cfg.stage,)) if cfg.resume else None
    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    if cfg.init and not resume:
        init_from(model, cfg, say)
    frozen = freeze(model, cfg.stage)
    model.to(device)
    train_pre, val_pre = fold_cases(cfg, cfg.stage)
    train = [to_device(p, TARGET[cfg.stage], device) for p in train_pre]
    val = [to_device(p, TARGET[cfg.stage], device) for p in val_pre]
    say(f"stage {cfg.stage}, fold {cfg.fold}: {len(train)} training / {len(val)} validation cases on {device}, "
        f"amp {amp_dtype}, frozen {frozen or '-'}")
    optimizer = torch.optim.AdamW(param_groups(model, cfg), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    sampler, aug = torch.Generator().manual_seed(cfg.seed), torch.Generator().manual_seed(cfg.seed + 1)
    stopper, start = EarlyStopping(cfg.patience, cfg.min_delta), 0
    if resume:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        if resume["scaler"]:
            scaler.load_state_dict(resume["scaler"])
        elif scaler.is_enabled():
            say(f"{cfg.resume}: saved without a GradScaler (not fp16); starting a fresh fp16 loss scale")
        stopper = EarlyStopping(cfg.patience, cfg.min_delta, **resume["early_stopping"])
        torch.set_rng_state(resume["rng"]["torch_cpu"])
        sampler.set_state(resume["rng"]["sampler"])
        aug.set_state(resume["rng"]["augment"])
        if device.type == "cuda" and resume["rng"].get("torch_cuda"):
            torch.cuda.set_rng_state_all(resume["rng"]["torch_cuda"])
        start = resume["epoch"] + 1
        say(f"resumed from {cfg.resume} at epoch {start}")
    state = None
    budget = [NONFINITE_SKIPS_FP16 if amp_dtype == torch.float16 else 0]
    epochs = tqdm(range(start, cfg.max_epochs), desc=f"stage {cfg.stage}", unit="epoch", disable=not cfg.progress)
    for epoch in epochs:
        if stopper.stop:
            break
        t0, alpha = now(), alpha_t(cfg, epoch)
        record = {"stage": cfg.stage, "epoch": epoch, "alpha_t": alpha,
                  **run_epoch(model, train, optimizer, scaler, cfg, epoch, alpha, amp_dtype, (sampler, aug), budget),
                  "lr": {g["name"]: g["lr"] for g in optimizer.param_groups}}
        improved = False
        if (epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.max_epochs:
            record.update(validate(model, val, cfg, amp_dtype))
            improved = stopper.update(record["val_dice"], epoch)
        record["seconds"] = now() - t0
        state = {"stage": cfg.stage, "arch": arch(cfg), "epoch": epoch, "model": model.state_dict(),
                 "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(), "alpha_t": alpha,
                 "early_stopping": {"best": stopper.best, "best_epoch": stopper.best_epoch,
                                    "bad_epochs": stopper.bad_epochs},
                 "rng": {"torch_cpu": torch.get_rng_state(), "sampler": sampler.get_state(), "augment": aug.get_state(),
                         "torch_cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else []},
                 "config": config_dict(cfg), "metrics": {k: v for k, v in record.items() if isinstance(v, float)}}
        if improved:
            save_checkpoint(state, paths["best"])
        save_checkpoint(state, paths["last"])
        log_epoch(paths["log"], record)
        (tqdm.write if cfg.progress else say)(epoch_line(record))
    if state is not None and not paths["best"].exists():  # no validation ran in this run
        save_checkpoint(state, paths["best"])
    return {"best": stopper.best, "best_epoch": stopper.best_epoch, "paths": {k: str(v) for k, v in paths.items()}}
