"""Validation during training: Dice / HD / ASD on whole validation volumes — paper §4.2;
docs/design.md §2, §6.

Sliding-window probabilities (inference/sliding_window.py) on each whole preprocessed validation
volume, thresholded at 0.5 and scored with evaluation/metrics.py; under torchrun the cases are
sharded over the ranks and the rows gathered in case order. Beside the thresholded scores, each
output logs what the threshold hides (docs/design.md §2): the soft Dice
2 sum(p g) / (sum p + sum g) of the probabilities p against the label g (`soft_dice`, mean over
cases) and the largest probability anywhere (`max_prob`, max over cases), so a head that is
learning shows it before its probabilities cross 0.5.
Tests: tests/test_train_e2e.py, tests/test_distributed.py
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..evaluation.metrics import case_metrics
from ..inference.sliding_window import sliding_window_probs
from ..labels import channel
from ..runtime.device import autocast_for
from ..runtime.distributed import SINGLE, World, gather
from ..stage_data import CaseTensors
from ..stage_table import StageSpec, predict_logits


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
        with autocast_for(device, amp_dtype)():
            probs = sliding_window_probs(
                case.image, predict, patch, overlap, sw_batch_size, progress=False
            )
        masks = (probs[0] > 0.5).cpu().numpy()  # (K, X, Y, Z)
        row = {}
        for k, name in enumerate(spec.outputs):
            truth = case.labels[0, channel(name)] > 0.5  # (X, Y, Z)
            row[name] = case_metrics(masks[k], truth.cpu().numpy(), spacing_mm)
            row[name] |= soft_scores(probs[0, k].float(), truth)
        rows.append(row)
    model.train()
    return rows


def soft_scores(p: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """{"soft_dice": 2 sum(p g) / (sum p + sum g), "max_prob": max p} of one output's
    probabilities p (X, Y, Z) against its label g (X, Y, Z, bool); soft Dice 1.0 when both sums
    are 0 (nothing predicted, nothing there, as metrics.dice)."""
    g = truth.to(p.dtype)
    den = float(p.sum() + g.sum())
    soft = 1.0 if den == 0 else float(2 * (p * g).sum()) / den
    return {"soft_dice": soft, "max_prob": float(p.max())}


def summarise_validation(rows: list[dict[str, dict[str, float]]], spec: StageSpec) -> dict:
    """Means over cases of Dice / HD / ASD / soft Dice per output (NaN rows left out), the
    largest probability over cases, and "val_dice" / "val_soft_dice" (the stage target's, for
    early stopping)."""
    out = {}
    for name in spec.outputs:
        for metric in ("dice", "hd", "asd", "soft_dice"):
            values = [r[name][metric] for r in rows if not math.isnan(r[name][metric])]
            out[f"val_{name}_{metric}"] = float(np.mean(values)) if values else math.nan
        out[f"val_{name}_max_prob"] = max((r[name]["max_prob"] for r in rows), default=math.nan)
    out["val_dice"] = out[f"val_{spec.target}_dice"]
    out["val_soft_dice"] = out[f"val_{spec.target}_soft_dice"]  # early stopping's tie-break
    return out
