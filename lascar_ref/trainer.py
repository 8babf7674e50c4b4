"""The training loop of Stages I, II, III — paper §3.2, §4.2; DESIGN.md §2; STYLE rule 11.

An epoch = one augmented patch per training case (Eq. 2, Table 1), then sliding-window validation
on the whole validation volumes; early stopping on the stage's validation Dice (patience 30,
min delta 1e-4). AdamW; autocast (bf16 default on CUDA when supported, off on CPU), a GradScaler
only for fp16; losses in float32. Every epoch writes stage{N}.last.pt (resume) and one JSON line
to stage{N}.log.jsonl; an improvement writes stage{N}.pt (best). Tests: tests/test_train_*.py
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .augment import augment
from .config import TrainConfig
from .inference import sliding_window_probs
from .metrics import case_metrics
from .stages import TARGET, predict_logits, stage_loss, structures

NONFINITE_SKIPS_FP16 = 5  # consecutive fp16 steps the scaler may skip before training stops


class TrainingError(RuntimeError):
    pass


def resolve_device(name: str) -> torch.device:
    return torch.device(("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name)


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    if amp == "auto":
        return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else None
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "off": None}[amp]


@dataclass
class EarlyStopping:
    patience: int
    min_delta: float
    best: float = -math.inf
    best_epoch: int = -1
    bad_epochs: int = 0

    def update(self, value: float, epoch: int) -> bool:
        """Record a validation value; True if it improves on the best by more than min_delta."""
        if value > self.best + self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def stop(self) -> bool:
        return self.bad_epochs >= self.patience


def train_step(model, image, labels, optimizer, scaler, cfg: TrainConfig, alpha: float,
               amp_dtype: torch.dtype | None) -> tuple[dict[str, float], bool]:
    """One optimisation step on a batch of augmented patches; returns (loss terms, finite?)."""
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(image.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        outputs = model(image)
    terms = stage_loss(cfg, outputs, labels, alpha)  # float32 (losses leave autocast themselves)
    if not torch.isfinite(terms["loss"]):
        return {k: float(v.detach()) for k, v in terms.items()}, False
    scaler.scale(terms["loss"]).backward()
    if cfg.grad_clip > 0:
        scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
        torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], cfg.grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return {k: float(v.detach()) for k, v in terms.items()}, True


@torch.no_grad()
def validate(model, cases, cfg: TrainConfig, amp_dtype) -> dict[str, float]:
    """Mean Dice / HD / ASD (challenge) per structure over whole validation volumes (preprocessed grid)."""
    model.eval()
    predict = predict_logits(model, cfg.stage)
    names = structures(cfg.stage)
    per = {n: [] for n in names}
    for case in cases:
        with torch.autocast(case.image.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            probs = sliding_window_probs(case.image, predict, cfg.patch, cfg.overlap, cfg.sw_batch_size,
                                         progress=False)
        masks = (probs[0] > 0.5).cpu().numpy()
        for k, name in enumerate(names):
            gt = np.asarray(case.pre.la if name == "la" else case.pre.scar)
            per[name].append(case_metrics(masks[k], gt, cfg.spacing_mm))
    model.train()
    out = {}
    for name, rows in per.items():
        for metric in ("dice", "hd", "asd"):
            values = [r[metric] for r in rows if not math.isnan(r[metric])]
            out[f"val_{name}_{metric}"] = float(np.mean(values)) if values else math.nan
    out["val_dice"] = out[f"val_{TARGET[cfg.stage]}_dice"]
    return out


def run_epoch(model, train_cases, optimizer, scaler, cfg, epoch, alpha, amp_dtype, gens, budget) -> dict[str, float]:
    """Train one epoch; returns the mean of every loss term. gens: (sampler, augment) generators."""
    sampler, aug = gens
    n = cfg.steps_per_epoch or len(train_cases)
    order = torch.randint(0, len(train_cases), (n,), generator=sampler) if cfg.steps_per_epoch else \
        torch.randperm(len(train_cases), generator=sampler)
    sums, count = {}, 0
    bar = tqdm(range(0, n, cfg.batch_size), desc=f"stage {cfg.stage} epoch {epoch}", unit="step",
               disable=not cfg.progress, leave=False)
    for step in bar:
        batch = [train_cases[int(i)] for i in order[step:step + cfg.batch_size]]
        image = torch.cat([c.image for c in batch])
        labels = torch.cat([c.labels for c in batch])
        out = augment(image, labels, cfg.patch, cfg.spacing_mm, aug, fg_indices=[c.fg for c in batch])
        terms, finite = train_step(model, out["image"], out["labels"], optimizer, scaler, cfg, alpha, amp_dtype)
        if not finite:
            if budget[0] <= 0:
                raise TrainingError(f"non-finite loss at stage {cfg.stage}, epoch {epoch}, step {step} "
                                    f"({terms}); stopping. The last good checkpoint is left as it was.")
            budget[0] -= 1
            continue
        budget[0] = NONFINITE_SKIPS_FP16 if amp_dtype == torch.float16 else 0
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v
        count += 1
        bar.set_postfix(loss=f"{terms['loss']:.4f}")
    return {k: v / max(count, 1) for k, v in sums.items()}


def log_epoch(path: Path, record: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def epoch_line(record: dict) -> str:
    val = " ".join(f"{k[4:]}={v:.4f}" for k, v in record.items() if k.startswith("val_") and k != "val_dice")
    return (f"stage {record['stage']} epoch {record['epoch']}: loss {record['loss']:.4f}, alpha {record['alpha_t']:.2f}, "
            f"{val} ({record['seconds']:.1f} s)")


def now() -> float:
    return time.perf_counter()
