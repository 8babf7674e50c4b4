"""The three stages as one table — paper §3.2 (Stages I, II, III), §4.2; docs/design.md §2.

Everything that differs between stages is a field of `StageSpec`, and `STAGES` holds one record
per stage; the rest of the code reads this table and never branches on the stage number.

  Stage I   E + D_LA            Task 2   L^(I)   (Eq. 3)               early stop on LA Dice
  Stage II  E + D_LA + D_scar   Task 1   L^(II)  (Eq. 5, L_scar Eq. 8)  early stop on scar Dice
  Stage III E + D_scar          Task 1   L^(III) (Eq. 9)               early stop on scar Dice

Protection of earlier-stage knowledge applies only to module groups loaded by --init
(docs/design.md §2): in Stage II, loaded E and D_LA train at lr x 0.1 ("updated cautiously");
in Stage III, a loaded E has its early part frozen (patch embedding, Swin stages 1-2, skip
blocks 0-2). Random groups train at the base lr and nothing random is frozen (B1, B3, B4).
Deviation (values the paper leaves open): the factor 0.1 for "updated cautiously"; the frozen
prefixes for the "early encoder"; protection only of what was loaded (the paper's baselines
without pretraining have nothing to protect).
Tests: tests/test_stage_table.py, tests/test_stage_protection.py
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn

from .labels import split_labels
from .losses import alpha_schedule, stage1_loss, stage2_loss, stage3_loss
from .models import DualSwinUNETR, SwinUNETR
from .models.transfer import GROUPS

Terms = dict[str, torch.Tensor]  # "loss" plus every term of the stage's equation, float32 scalars


@dataclass(frozen=True)
class LossWeights:
    """The scalars of one epoch's stage loss: lam (Eq. 1), beta_la / beta_scar (Eq. 5),
    alpha_t (Eq. 7, 0 outside Stage II)."""

    lam: float
    beta_la: float
    beta_scar: float
    alpha_t: float


def loss_stage1(logit_la: torch.Tensor, labels: torch.Tensor, w: LossWeights) -> Terms:
    """Eq. 3 on the LA channel. logit_la (B, 1, X, Y, Z); labels (B, 3, X, Y, Z) (labels.py)."""
    return stage1_loss(logit_la, split_labels(labels).la, w.lam)


def loss_stage2(
    outputs: tuple[torch.Tensor, torch.Tensor], labels: torch.Tensor, w: LossWeights
) -> Terms:
    """Eq. 5 with the wall-weighted scar term of Eq. 7-8 (W = 1 + alpha_t * M_wall).
    outputs: (logit_la, logit_scar), each (B, 1, X, Y, Z); labels (B, 3, X, Y, Z)."""
    logit_la, logit_scar = outputs
    y = split_labels(labels)
    return stage2_loss(
        logit_la, logit_scar, y.la, y.scar, y.wall, w.alpha_t, w.beta_la, w.beta_scar, w.lam
    )


def loss_stage3(logit_scar: torch.Tensor, labels: torch.Tensor, w: LossWeights) -> Terms:
    """Eq. 9 on the scar channel. logit_scar (B, 1, X, Y, Z); labels (B, 3, X, Y, Z)."""
    return stage3_loss(logit_scar, split_labels(labels).scar, w.lam)


@dataclass(frozen=True)
class StageSpec:
    """One stage of the progressive scheme (docs/design.md §2)."""

    number: int
    roman: str
    model: type[nn.Module]  # SwinUNETR (one decoder) or DualSwinUNETR (Eq. 4)
    task: int  # LAScarQS task of its data: 2 (LA) or 1 (LA + scar)
    target: str  # early-stopping structure and label-guided sampling target ("la" / "scar")
    outputs: tuple[str, ...]  # structures of the output channels, in order
    groups: dict[str, str]  # module group (E, D_LA, D_scar) -> module prefix in `model`
    slow_if_loaded: tuple[str, ...]  # groups at lr x pretrained_lr_scale when loaded by --init
    frozen_if_loaded: dict[str, tuple[str, ...]]  # group -> module prefixes frozen when loaded
    loss: Callable[..., Terms]  # (outputs, labels (B, 3, X, Y, Z), LossWeights) -> terms
    uses_alpha: bool  # whether alpha(t) of Eq. 7 ramps in this stage


STAGES: dict[int, StageSpec] = {
    1: StageSpec(
        1,
        "I",
        SwinUNETR,
        task=2,
        target="la",
        outputs=("la",),
        groups=GROUPS[1],
        slow_if_loaded=(),
        frozen_if_loaded={},
        loss=loss_stage1,
        uses_alpha=False,
    ),
    2: StageSpec(
        2,
        "II",
        DualSwinUNETR,
        task=1,
        target="scar",
        outputs=("la", "scar"),
        groups=GROUPS[2],
        slow_if_loaded=("E", "D_LA"),
        frozen_if_loaded={},
        loss=loss_stage2,
        uses_alpha=True,
    ),
    3: StageSpec(
        3,
        "III",
        SwinUNETR,
        task=1,
        target="scar",
        outputs=("scar",),
        groups=GROUPS[3],
        slow_if_loaded=(),
        frozen_if_loaded={
            "E": (
                "encoder.swin.patch_embed",
                "encoder.swin.stages.0",
                "encoder.swin.stages.1",
                "encoder.skip0",
                "encoder.skip1",
                "encoder.skip2",
            )
        },
        loss=loss_stage3,
        uses_alpha=False,
    ),
}


def build_model(spec: StageSpec, feature_size: int, use_checkpoint: bool = False) -> nn.Module:
    """The stage's model with fresh random weights (draws from torch's global RNG)."""
    return spec.model(feature_size=feature_size, use_checkpoint=use_checkpoint)


def freeze(model: nn.Module, spec: StageSpec, loaded: list[str]) -> list[str]:
    """Set requires_grad False under the stage's frozen prefixes of *loaded* groups; returns
    them."""
    frozen = [prefix for group in loaded for prefix in spec.frozen_if_loaded.get(group, ())]
    for prefix in frozen:
        for p in model.get_submodule(prefix).parameters():
            p.requires_grad_(False)
    return frozen


def param_groups(
    model: nn.Module, spec: StageSpec, loaded: list[str], lr: float, pretrained_lr_scale: float
) -> list[dict]:
    """AdamW groups, one per module group, named E / D_LA / D_scar, with only trainable tensors;
    a loaded group in spec.slow_if_loaded gets lr x pretrained_lr_scale, every other group lr."""
    groups = []
    for name, prefix in spec.groups.items():
        scale = pretrained_lr_scale if name in loaded and name in spec.slow_if_loaded else 1.0
        params = [p for p in model.get_submodule(prefix).parameters() if p.requires_grad]
        groups.append({"name": name, "params": params, "lr": lr * scale})
    return groups


def selection_start(spec: StageSpec, select_from: int, ramp_epochs: int) -> int:
    """The first epoch early stopping may keep as best or count towards patience: `select_from`
    when given (>= 0); else, in the stage with the wall prior, the epoch where alpha(t) reaches
    alpha_max, so that Stage II is never selected before the prior is fully on (docs/design.md
    §2); 0 in the other stages."""
    if select_from >= 0:
        return select_from
    return max(ramp_epochs, 0) if spec.uses_alpha else 0


def alpha_t(spec: StageSpec, epoch: int, alpha_max: float, ramp_epochs: int) -> float:
    """Eq. 7 alpha(t) of this epoch; 0 in stages without the wall prior."""
    return alpha_schedule(epoch, alpha_max, ramp_epochs) if spec.uses_alpha else 0.0


def predict_logits(model: nn.Module, spec: StageSpec) -> Callable[[torch.Tensor], torch.Tensor]:
    """(n, 1, *patch) -> (n, K, *patch) logits, K = len(spec.outputs)."""
    if len(spec.outputs) > 1:
        return lambda x: torch.cat(model(x), dim=1)  # Eq. 4: (Y_LA, Y_scar) -> (n, 2, ...)
    return model
