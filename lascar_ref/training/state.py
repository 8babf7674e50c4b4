"""The random streams of a run, and restoring a checkpoint on --resume — paper §4.2;
docs/design.md §2 ("Files", "Determinism"), §11.

`rng_state`: every random stream of this process (the checkpoint's "rng"; `rng_by_rank` gathers
them over the torchrun ranks). setup.Run.record builds the checkpoint (checkpoints/record.py) from
them and the trained objects; `restore_training_state` puts a checkpoint back, exactly.
Tests: tests/test_train_checkpoint.py, tests/test_train_resume.py
"""

from __future__ import annotations

import torch

from ..checkpoints import check_world_size
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


def rng_by_rank(gens: tuple[torch.Generator, torch.Generator], device: torch.device) -> list:
    """[rng_state] of every torchrun rank, in rank order ([rng_state] in one process); every rank
    must call it."""
    return gather(rng_state(gens, device))


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
    stopper.load(state["early_stopping"])
    check_world_size(state, world.size, source)
    rng = state.get("rng_by_rank", [state["rng"]])[world.rank]
    sampler, aug = gens
    torch.set_rng_state(rng["torch_cpu"])
    sampler.set_state(rng["sampler"])
    aug.set_state(rng["augment"])
    if device.type == "cuda" and rng.get("torch_cuda"):
        torch.cuda.set_rng_state_all(rng["torch_cuda"])
    return state["epoch"] + 1
