"""The training state of a checkpoint: build it after an epoch, restore it on --resume —
paper §4.2; docs/design.md §2 ("Files", "Determinism"), §11.

`training_state` gathers everything an exact resume needs (model, optimiser, GradScaler, early
stopping, alpha(t), every random stream of every rank) into the checkpoint dict that
checkpoint.save_checkpoint writes; `restore_training_state` puts it back.
Tests: tests/test_train_checkpoint.py, tests/test_train_resume.py
"""

from __future__ import annotations

import torch

from ..checkpoint import check_world_size
from ..runtime.distributed import SINGLE, World, gather
from .stopping import EarlyStopping


def rng_state(gens: tuple[torch.Generator, torch.Generator], device: torch.device) -> dict:
    """Every random stream of a run: torch's global CPU (and CUDA) RNG, the patch sampler,
    augmentation."""
    sampler, aug = gens
    return {
        "torch_cpu": torch.get_rng_state(),
        "sampler": sampler.get_state(),
        "augment": aug.get_state(),
        "torch_cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
    }


def training_state(
    *,
    stage: int,
    arch: dict,
    epoch: int,
    complete: bool,
    loaded_groups: list[str],
    init_sha256: str | None,
    split_sha256: str | None,
    model,
    optimizer,
    scaler,
    stopper: EarlyStopping,
    alpha_t: float,
    gens,
    device: torch.device,
    config: dict,
    metrics: dict,
) -> dict:
    """The checkpoint dict after `epoch` (see the module docstring)."""
    return {
        "stage": stage,
        "arch": arch,
        "epoch": epoch,
        "complete": complete,
        "loaded_groups": list(loaded_groups),
        "init_sha256": init_sha256,
        "split_sha256": split_sha256,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict(),
        "early_stopping": stopper.state(),
        "alpha_t": float(alpha_t),
        "rng": rng_state(gens, device),
        "rng_by_rank": gather(rng_state(gens, device)),  # [rng] in one process
        "config": config,
        "metrics": {k: v for k, v in metrics.items() if isinstance(v, float)},
    }


def restore_training_state(
    state: dict,
    model,
    optimizer,
    scaler,
    stopper: EarlyStopping,
    gens,
    device: torch.device,
    say=print,
    source: str = "checkpoint",
    world: World = SINGLE,
) -> int:
    """Load model, optimizer, scaler, early stopping and every RNG from `state`; returns the next
    epoch. A checkpoint saved without a GradScaler ({}: not fp16) resumed under fp16 starts a fresh
    scale."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if state["scaler"]:
        scaler.load_state_dict(state["scaler"])
    elif scaler.is_enabled():
        say(f"{source}: saved without a GradScaler (not fp16); starting a fresh fp16 loss scale")
    stopper.best, stopper.best_epoch, stopper.bad_epochs = (
        state["early_stopping"][k] for k in ("best", "best_epoch", "bad_epochs")
    )
    check_world_size(state, world.size, source)
    rng = state.get("rng_by_rank", [state["rng"]])[world.rank]
    sampler, aug = gens
    torch.set_rng_state(rng["torch_cpu"])
    sampler.set_state(rng["sampler"])
    aug.set_state(rng["augment"])
    if device.type == "cuda" and rng.get("torch_cuda"):
        torch.cuda.set_rng_state_all(rng["torch_cuda"])
    return state["epoch"] + 1
