"""One training step, one epoch, one validation — paper §3.2, §4.2; docs/design.md §2; STYLE 11.

An epoch = one augmented patch per training case (Eq. 2, Table 1) and one `train_step` each;
then sliding-window validation on the whole validation volumes. The step takes the stage's loss
function (stage_table.loss_fn), so Stage II's step reads: model (Eq. 4) -> loss_stage2 ->
stage2_loss (Eq. 5, with the W-weighted scar term of Eq. 8). Autocast (bf16 on CUDA by default),
a GradScaler only for fp16, losses in float32, gradients unscaled before clipping.
Tests: tests/test_train_stages.py, tests/test_train_resume.py
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from tqdm import tqdm

from .augment import augment
from .distributed import SINGLE, World, all_true, gather, shard_batches
from .inference import sliding_window_probs
from .labels import channel
from .metrics import case_metrics
from .stage_data import CaseTensors
from .stage_table import StageSpec, Terms, predict_logits
from .stopping import NonFiniteBudget


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss); the message names stage, epoch and step."""


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


def validate(
    model,
    cases: list[CaseTensors],
    spec: StageSpec,
    *,
    patch,
    overlap: float,
    sw_batch_size: int,
    spacing_mm,
    amp_dtype,
    world: World = SINGLE,
) -> dict[str, float]:
    """Mean Dice / HD / ASD (challenge) per output structure over whole validation volumes
    (preprocessed grid); "val_dice" is the stage's early-stopping value. Under torchrun (`world`)
    rank r scores cases r, r + N, ...; the rows of all ranks are gathered in case order, so the
    means equal one process's exactly."""
    mine = list(range(world.rank, len(cases), world.size))
    rows = validation_rows(
        model,
        [cases[i] for i in mine],
        spec,
        patch=patch,
        overlap=overlap,
        sw_batch_size=sw_batch_size,
        spacing_mm=spacing_mm,
        amp_dtype=amp_dtype,
    )
    indexed = sorted(
        (i, row) for part in gather(list(zip(mine, rows, strict=True))) for i, row in part
    )
    return summarise_validation([row for _, row in indexed], spec)


@torch.no_grad()
def validation_rows(
    model,
    cases: list[CaseTensors],
    spec: StageSpec,
    *,
    patch,
    overlap: float,
    sw_batch_size: int,
    spacing_mm,
    amp_dtype,
) -> list[dict[str, dict[str, float]]]:
    """Per case: {output name: case_metrics(...)} on the whole preprocessed volume."""
    model.eval()
    predict = predict_logits(model, spec)
    rows = []
    for case in cases:
        device = case.image.device
        with torch.autocast(
            device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None
        ):
            probs = sliding_window_probs(
                case.image, predict, patch, overlap, sw_batch_size, progress=False
            )
        masks = (probs[0] > 0.5).cpu().numpy()  # (K, X, Y, Z)
        rows.append(
            {
                name: case_metrics(
                    masks[k], case.labels[0, channel(name)].cpu().numpy() > 0.5, spacing_mm
                )
                for k, name in enumerate(spec.outputs)
            }
        )
    model.train()
    return rows


def summarise_validation(rows: list[dict[str, dict[str, float]]], spec: StageSpec) -> dict:
    """Means over cases of Dice / HD / ASD per output (NaN rows left out) and "val_dice"."""
    out = {}
    for name in spec.outputs:
        for metric in ("dice", "hd", "asd"):
            values = [r[name][metric] for r in rows if not math.isnan(r[name][metric])]
            out[f"val_{name}_{metric}"] = float(np.mean(values)) if values else math.nan
    out["val_dice"] = out[f"val_{spec.target}_dice"]
    return out
