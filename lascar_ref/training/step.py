"""One training step and one epoch — paper §3.2, §4.2; docs/design.md §2.

An epoch = one augmented patch per training case (Eq. 2, Table 1) and one `train_step` each;
validation follows (training/validate.py). The step calls the stage's loss from the stage table
with this epoch's weights, so Stage II's step reads: model (Eq. 4) -> loss_stage2 -> stage2_loss
(Eq. 5, with the W-weighted scar term of Eq. 8). Autocast (bf16 on CUDA by default),
a GradScaler only for fp16, losses in float32, gradients unscaled before clipping.
Tests: tests/test_train_step.py, tests/test_train_resume.py
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from tqdm import tqdm

from ..augment import augment
from ..config import TrainConfig
from ..errors import TrainingError
from ..runtime.distributed import all_true, mean_over_ranks, shard_batches
from ..stage_data import CaseTensors
from ..stage_table import LossWeights, Terms
from .setup import Run


def train_step(
    model: torch.nn.Module,
    image: torch.Tensor,
    labels: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    loss: Callable[[object, torch.Tensor, LossWeights], Terms],
    weights: LossWeights,
    amp_dtype: torch.dtype | None,
    grad_clip: float = 0.0,
) -> tuple[dict[str, float], bool]:
    """One optimisation step of the stage loss `loss(outputs, labels, weights)` (a StageSpec.loss).
    image (B, 1, *patch), labels (B, 3, *patch) -> (loss terms, finite?). A non-finite loss takes
    no step."""
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(
        image.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None
    ):
        outputs = model(image)
    terms = loss(outputs, labels, weights)  # float32: the losses leave autocast themselves
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
    run: Run, cases: list[CaseTensors], cfg: TrainConfig, alpha: float, epoch: int
) -> dict[str, float]:
    """Train one epoch of the stage loss at this epoch's alpha(t) (Eq. 7); returns the mean of
    every loss term over the finite steps (and over the ranks under torchrun, where this rank
    trains on its share of the epoch's order, shard_batches). Errors name stage, epoch and step."""
    sampler, aug = run.gens
    weights = LossWeights(cfg.lam, cfg.beta_la, cfg.beta_scar, alpha)
    where = f"stage {cfg.stage}, epoch {epoch}"
    order = shard_batches(
        epoch_order(len(cases), cfg.steps_per_epoch, sampler), cfg.batch_size, run.world
    )
    sums, count = {}, 0
    bar = tqdm(
        range(0, len(order), cfg.batch_size),
        desc=where,
        unit="step",
        disable=not (cfg.bars and run.world.main),
        leave=False,
    )
    for step in bar:
        batch = [cases[int(i)] for i in order[step : step + cfg.batch_size]]
        image = torch.cat([c.image for c in batch])  # (B, 1, X, Y, Z)
        labels = torch.cat([c.labels for c in batch])  # (B, 3, X, Y, Z)
        out = augment(
            image, labels, cfg.patch, cfg.spacing_mm, aug, fg_indices=[c.fg for c in batch]
        )
        terms, finite = train_step(
            run.trained,
            out["image"],
            out["labels"],
            run.optimizer,
            run.scaler,
            run.spec.loss,
            weights,
            run.amp_dtype,
            cfg.grad_clip,
        )
        if not finite:
            if not run.budget.spend():
                raise TrainingError(
                    f"non-finite loss at {where}, step {step} ({terms}); stopping. "
                    f"The last good checkpoint is left as it was."
                )
            continue
        run.budget.reset()
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v
        count += 1
        bar.set_postfix(loss=f"{terms['loss']:.4f}")
    return mean_over_ranks({k: v / max(count, 1) for k, v in sums.items()})
