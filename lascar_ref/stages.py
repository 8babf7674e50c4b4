"""What differs between Stages I, II and III, as plain functions — paper §3.2; DESIGN.md §2.

  Stage I   E + D_LA            L^(I) (Eq. 3)                     all parameters at lr
  Stage II  E + D_LA + D_scar   L^(II) (Eq. 5, L_scar of Eq. 8)   E, D_LA at lr x 0.1; D_scar at lr
  Stage III E + D_scar          L^(III) (Eq. 9)                   patch embedding, Swin stages 1-2 and
                                                                  skip blocks 0-2 frozen; rest at lr
Tests: tests/test_train_stages.py
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .config import TrainConfig
from .losses import alpha_schedule, stage1_loss, stage2_loss, stage3_loss
from .models import DualSwinUNETR, SwinUNETR

# DESIGN.md §2: "patch embedding, Swin stages 1-2, skip blocks encoder1-3" (MONAI names)
FROZEN_IN_STAGE3 = ("encoder.swin.patch_embed", "encoder.swin.stages.0", "encoder.swin.stages.1",
                    "encoder.skip0", "encoder.skip1", "encoder.skip2")
TARGET = {1: "la", 2: "scar", 3: "scar"}  # early stopping and label-guided sampling


def build_model(cfg: TrainConfig) -> nn.Module:
    cls = DualSwinUNETR if cfg.stage == 2 else SwinUNETR
    return cls(feature_size=cfg.feature_size, use_checkpoint=cfg.use_checkpoint)


def freeze(model: nn.Module, stage: int) -> list[str]:
    """Stage III: freeze the early encoder (requires_grad False); returns the frozen prefixes."""
    if stage != 3:
        return []
    for prefix in FROZEN_IN_STAGE3:
        for p in model.get_submodule(prefix).parameters():
            p.requires_grad_(False)
    return list(FROZEN_IN_STAGE3)


def param_groups(model: nn.Module, cfg: TrainConfig) -> list[dict]:
    """AdamW groups with a name and lr (trainable parameters only)."""
    def trainable(module):
        return [p for p in module.parameters() if p.requires_grad]
    if cfg.stage == 2:
        slow = cfg.lr * cfg.pretrained_lr_scale
        return [{"name": "encoder", "params": trainable(model.encoder), "lr": slow},
                {"name": "decoder_la", "params": trainable(model.decoder_la), "lr": slow},
                {"name": "decoder_scar", "params": trainable(model.decoder_scar), "lr": cfg.lr}]
    return [{"name": "encoder", "params": trainable(model.encoder), "lr": cfg.lr},
            {"name": "decoder", "params": trainable(model.decoder), "lr": cfg.lr}]


def alpha_t(cfg: TrainConfig, epoch: int) -> float:
    """Eq. 7 weight alpha(t) for this epoch (0 outside Stage II)."""
    return alpha_schedule(epoch, cfg.alpha_max, cfg.alpha_ramp_epochs) if cfg.stage == 2 else 0.0


def stage_loss(cfg: TrainConfig, outputs, labels: torch.Tensor, alpha: float) -> dict[str, torch.Tensor]:
    """labels (B, 3, X, Y, Z) = (LA, scar, wall) -> the stage's loss terms (float32)."""
    la, scar, wall = labels[:, 0:1], labels[:, 1:2], labels[:, 2:3]
    if cfg.stage == 1:
        return stage1_loss(outputs, la, cfg.lam)
    if cfg.stage == 2:
        return stage2_loss(outputs[0], outputs[1], la, scar, wall, alpha, cfg.beta_la, cfg.beta_scar, cfg.lam)
    return stage3_loss(outputs, scar, cfg.lam)


def predict_logits(model: nn.Module, stage: int):
    """(n, 1, *patch) -> (n, K, *patch) logits: K = 1 (LA or scar) or 2 (LA, scar) in Stage II."""
    if stage == 2:
        return lambda x: torch.cat(model(x), dim=1)
    return model


def structures(stage: int) -> list[str]:
    """Names of the output channels of predict_logits."""
    return {1: ["la"], 2: ["la", "scar"], 3: ["scar"]}[stage]
