"""The three stages as one table — paper §3.2 (Stages I, II, III), §4.2; docs/design.md §2.

Every fact that differs between stages is a field of `StageSpec`, and `STAGES` holds one record
per stage: its model and module groups (the prefixes of E, D_LA, D_scar), the tasks it trains
on, its loss and the loss weights that loss takes, which earlier stages may initialise it, how a
decoder missing from the source is initialised, and what is protected. The rest of the code reads
this table and never compares a stage number (tests/test_stage_table.py checks the source).

  Stage I   E + D_LA            Task 2   L^(I)   (Eq. 3)               early stop on LA Dice
  Stage II  E + D_LA + D_scar   Task 1   L^(II)  (Eq. 5, L_scar Eq. 8)  early stop on scar Dice
  Stage III E + D_scar          Task 1   L^(III) (Eq. 9)               early stop on scar Dice

Protection of earlier-stage knowledge applies only to module groups loaded by --init
(docs/design.md §2): in Stage II, loaded E and D_LA train at lr x 0.1 ("updated cautiously");
in Stage III, a loaded E has its early part frozen (patch embedding, Swin stages 1-2, skip
blocks 0-2). Random groups train at the base lr and nothing random is frozen (B1, B3, B4).
Stage I -> III (baseline B2) initialises D_scar from D_LA (`missing_decoder`).
Deviation (values the paper leaves open): the factor 0.1 for "updated cautiously"; the frozen
prefixes for the "early encoder"; protection only of what was loaded (the paper's baselines
without pretraining have nothing to protect); Stage I on the LA of the Task 1 cases when a
dataset has no Task 2.
Tests: tests/test_stage_table.py, tests/test_stage_protection.py, tests/test_model_transfer.py
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from .losses import stage1_loss, stage2_loss, stage3_loss
from .models import DualSwinUNETR, SwinUNETR

Terms = dict[str, torch.Tensor]  # "loss" plus every term of the stage's equation, float32 scalars

# Module prefixes of the one-decoder SwinUNETR (Stages I, III and MONAI's model) and of Eq. 4's
# two-decoder model; a group's structure is the one its decoder segments.
ONE_DECODER = {"E": "encoder", "decoder": "decoder"}
TWO_DECODERS = {"E": "encoder", "D_LA": "decoder_la", "D_scar": "decoder_scar"}
STRUCTURE = {"D_LA": "la", "D_scar": "scar"}  # decoder group -> the structure it segments
TASK_LABELS = {1: "LA + scar labels (Task 1)", 2: "LA labels (Task 2)"}


@dataclass(frozen=True)
class StageSpec:
    """One stage of the progressive scheme (docs/design.md §2)."""

    number: int
    roman: str
    model: type[nn.Module]  # SwinUNETR (one decoder) or DualSwinUNETR (Eq. 4)
    trains_on: tuple[int, ...]  # LAScarQS tasks it can train on, preferred first (data/dataset.py)
    target: str  # early-stopping structure and label-guided sampling target ("la" / "scar")
    outputs: tuple[str, ...]  # structures of the output channels, in order
    groups: dict[str, str]  # module group (E, D_LA, D_scar) -> module prefix in `model`
    loss: Callable[..., Terms]  # (outputs, labels (B, 3, X, Y, Z), **loss weights) -> terms
    loss_weights: tuple[str, ...]  # the config fields the loss takes as keywords
    wall_prior: bool  # whether alpha(t) of Eq. 7 ramps in this stage
    init_from: tuple[int, ...]  # stages whose checkpoint may initialise it (--init)
    missing_decoder: dict[str, str] = field(default_factory=dict)  # group <- source group
    monai_decoder: str = "D_LA"  # the group a MONAI SwinUNETR's one decoder initialises
    slow_if_loaded: tuple[str, ...] = ()  # groups at lr x pretrained_lr_scale when loaded
    frozen_if_loaded: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group -> frozen

    @property
    def decoders(self) -> dict[str, str]:
        """Structure ("la", "scar") -> module prefix of its decoder in `model`."""
        return {STRUCTURE[g]: p for g, p in self.groups.items() if g in STRUCTURE}

    def needs(self) -> str:
        """What its data must hold, for errors: "LA labels (Task 2)"."""
        return " or ".join(TASK_LABELS[t] for t in self.trains_on)


STAGES: dict[int, StageSpec] = {
    1: StageSpec(
        1,
        "I",
        SwinUNETR,
        trains_on=(2, 1),
        target="la",
        outputs=("la",),
        groups={"E": ONE_DECODER["E"], "D_LA": ONE_DECODER["decoder"]},
        loss=stage1_loss,
        loss_weights=("lam",),
        wall_prior=False,
        init_from=(),
    ),
    2: StageSpec(
        2,
        "II",
        DualSwinUNETR,
        trains_on=(1,),
        target="scar",
        outputs=("la", "scar"),
        groups=TWO_DECODERS,
        loss=stage2_loss,
        loss_weights=("lam", "alpha_t", "beta_la", "beta_scar", "wall_weighting"),
        wall_prior=True,
        init_from=(1,),
        slow_if_loaded=("E", "D_LA"),
    ),
    3: StageSpec(
        3,
        "III",
        SwinUNETR,
        trains_on=(1,),
        target="scar",
        outputs=("scar",),
        groups={"E": ONE_DECODER["E"], "D_scar": ONE_DECODER["decoder"]},
        loss=stage3_loss,
        loss_weights=("lam",),
        wall_prior=False,
        init_from=(1, 2),
        missing_decoder={"D_scar": "D_LA"},  # baseline B2: Stage I -> III
        monai_decoder="D_scar",
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
    ),
}
STAGE_TASKS = {n: spec.trains_on for n, spec in STAGES.items()}  # for data/dataset.py


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
    return max(ramp_epochs, 0) if spec.wall_prior else 0


def predict_logits(model: nn.Module, spec: StageSpec) -> Callable[[torch.Tensor], torch.Tensor]:
    """(n, 1, *patch) -> (n, K, *patch) logits, K = len(spec.outputs)."""
    if len(spec.outputs) > 1:
        return lambda x: torch.cat(model(x), dim=1)  # Eq. 4: (Y_LA, Y_scar) -> (n, 2, ...)
    return model
