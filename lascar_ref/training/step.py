"""One training step and one epoch — paper §3.2, §4.2; docs/design.md §2.

An epoch = one augmented patch per training case (Eq. 2, Table 1) and one `train_step` each;
validation follows (training/validate.py). The step takes the stage's loss
function (stage_table.loss_fn), so Stage II's step reads: model (Eq. 4) -> loss_stage2 ->
stage2_loss (Eq. 5, with the W-weighted scar term of Eq. 8). Autocast (bf16 on CUDA by default),
a GradScaler only for fp16, losses in float32, gradients unscaled before clipping.
Tests: tests/test_train_stages.py, tests/test_train_resume.py
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from tqdm import tqdm

from ..augment import augment
from ..errors import TrainingError
from ..runtime.distributed import SINGLE, World, all_true, shard_batches
from ..stage_data import CaseTensors
from ..stage_table import Terms
from .stopping import NonFiniteBudget


def train_step(
    model: torch.nn.Module,
    image: torch.Tensor,
    labels: torch.Tensor,
    optimizer,
    scaler,
    loss_fn: Callable[[object, torch.Tensor], Terms],
    amp_dtype: torch.dtype | None,
    grad_clip: float = 0.0,
) -> tuple[dict[str, float], bool]:
    """One optimisation step. image (B, 1, *patch), labels (B, 3, *patch) -> (loss terms, finite?).
    A non-finite loss takes no step."""
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(
        image.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None
    ):
        outputs = model(image)
    terms = loss_fn(outputs, labels)  # float32: the losses leave autocast themselves
    if not all_true(bool(torch.isfinite(terms["loss"]))):  # under torchrun: every rank skips
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


def run_epoch(
    model,
    cases: list[CaseTensors],
    optimizer,
    scaler,
    loss_fn,
    *,
    patch,
    spacing_mm,
    batch_size: int,
    steps: int,
    gens: tuple[torch.Generator, torch.Generator],
    amp_dtype,
    budget: NonFiniteBudget,
    grad_clip: float = 0.0,
    where: str = "",
    progress: bool = True,
    world: World = SINGLE,
) -> dict[str, float]:
    """Train one epoch; returns the mean of every loss term over the finite steps.
    gens = (sampler, augment) generators; `where` ("stage 2, epoch 7") names errors. Under
    torchrun (`world`), this rank trains on its share of the epoch's order (shard_batches)."""
    sampler, aug = gens
    order = shard_batches(epoch_order(len(cases), steps, sampler), batch_size, world)
    sums, count = {}, 0
    bar = tqdm(
        range(0, len(order), batch_size), desc=where, unit="step", disable=not progress, leave=False
    )
    for step in bar:
        batch = [cases[int(i)] for i in order[step : step + batch_size]]
        image = torch.cat([c.image for c in batch])  # (B, 1, X, Y, Z)
        labels = torch.cat([c.labels for c in batch])  # (B, 3, X, Y, Z)
        out = augment(image, labels, patch, spacing_mm, aug, fg_indices=[c.fg for c in batch])
        terms, finite = train_step(
            model, out["image"], out["labels"], optimizer, scaler, loss_fn, amp_dtype, grad_clip
        )
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
    return {k: v / max(count, 1) for k, v in sums.items()}
