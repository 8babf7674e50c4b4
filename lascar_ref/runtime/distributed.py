"""Data parallelism over several processes (torchrun) — docs/design.md §11.

`torchrun --nproc_per_node N train.py ...` starts N processes; each reads RANK, LOCAL_RANK and
WORLD_SIZE from its environment. `start(device)` joins them in one process group (NCCL on CUDA,
gloo on the CPU); a plain `python train.py` has no such variables and everything here is a
no-op (world size 1). What the N processes share and what each does alone:
- the model: wrapped in DistributedDataParallel, gradients averaged after every backward, so each
  optimiser step sees the gradient of the mean loss over N x --batch-size patches;
- the epoch's case order: drawn by the same sampler on every rank, then dealt out
  (`shard_batches`): global step k takes order[k N B : (k+1) N B], rank r its r-th B-slice;
- augmentation: a rank-seeded generator per rank (`augment_seed`), rank 0's equal to one GPU's;
- validation: rank r scores cases r, r + N, ...; the per-case rows are gathered and sorted, so
  every rank computes the same means and the same early-stopping decision (rank 0's is broadcast);
- files: only rank 0 writes checkpoints, logs and the lock (rank_zero.py); the checkpoint holds
  every rank's RNG state, so `--resume` continues exactly under the same N (another N is refused).
Tests: tests/test_distributed.py
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist

AUGMENT_SEED_STRIDE = 1_000_003  # rank r augments with seed + 1 + r * stride


@dataclass(frozen=True)
class World:
    """This process's place among the data-parallel processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


SINGLE = World()  # one process, no torchrun


def env_world() -> World:
    """The World described by torchrun's environment variables (rank 0 of 1 without them)."""
    try:
        return World(
            int(os.environ.get("RANK", 0)),
            int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)),
        )
    except ValueError as e:
        raise ValueError(f"RANK / WORLD_SIZE / LOCAL_RANK must be integers ({e})") from None


def current() -> World:
    """The World of the joined process group, or rank 0 of 1 when there is none."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size(), env_world().local_rank)
    return SINGLE


@contextlib.contextmanager
def start(device_name: str) -> Iterator[World]:
    """Join torchrun's process group for the duration (NCCL when the run uses CUDA, gloo
    otherwise) and leave it afterwards; without torchrun, yield rank 0 of 1 and do nothing."""
    world = env_world()
    if not world.active or dist.is_initialized():
        yield current()
        return
    uses_cuda = device_name.startswith("cuda") or (
        device_name == "auto" and torch.cuda.is_available()
    )
    if uses_cuda:
        torch.cuda.set_device(world.local_rank)
    dist.init_process_group("nccl" if uses_cuda else "gloo")
    try:
        yield current()
    finally:
        dist.destroy_process_group()


def main_say(say, world: World):
    """`say` on rank 0; a function that prints nothing on the other ranks."""
    return say if world.main else _silent


def _silent(*args, **kwargs) -> None:
    """What the ranks other than 0 say: nothing."""


def rank_device(device: torch.device, world: World) -> torch.device:
    """The device of this rank: cuda:LOCAL_RANK under torchrun on CUDA, else `device`."""
    if not world.active or device.type != "cuda":
        return device
    if device.index not in (None, world.local_rank):
        raise ValueError(
            f"--device {device} under torchrun: each process uses cuda:LOCAL_RANK; "
            f"pass --device cuda or auto"
        )
    return torch.device("cuda", world.local_rank)


def augment_seed(seed: int, rank: int) -> int:
    """The augmentation generator's seed of `rank` (rank 0: seed + 1, as in one process)."""
    return seed + 1 + rank * AUGMENT_SEED_STRIDE


def shard_batches(order: torch.Tensor, batch_size: int, world: World) -> torch.Tensor:
    """This rank's case indices of an epoch, in step order. One process: `order` unchanged.
    N processes: `order` is padded by wrapping around to a multiple of N * B (so every rank
    takes the same number of steps), then global step k's N * B cases are dealt out in
    B-slices, rank r taking the r-th."""
    if not world.active:
        return order
    per_step = world.size * batch_size
    n = -(-len(order) // per_step) * per_step
    padded = order.repeat(-(-n // len(order)))[:n]
    return padded.view(-1, world.size, batch_size)[:, world.rank].reshape(-1)


def wrap(model: torch.nn.Module, device: torch.device, world: World) -> torch.nn.Module:
    """DistributedDataParallel(model) when several processes train, else `model` itself."""
    if not world.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def all_true(flag: bool) -> bool:
    """True on every rank iff `flag` is True on every rank (one process: `flag`)."""
    if not current().active:
        return flag
    t = torch.tensor([1.0 if flag else 0.0])
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item() > 0.5)


def gather(obj) -> list:
    """Every rank's `obj`, in rank order (one process: [obj])."""
    if not current().active:
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast(obj, src: int = 0):
    """Rank `src`'s `obj` on every rank (one process: `obj`)."""
    if not current().active:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def mean_over_ranks(values: dict[str, float]) -> dict[str, float]:
    """The mean of each value over the ranks (every rank holds the same keys)."""
    rows = gather(values)
    return {k: sum(r[k] for r in rows) / len(rows) for k in values}


def barrier() -> None:
    if current().active:
        dist.barrier()
