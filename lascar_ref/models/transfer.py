"""Weight transfer between the progressive stages — paper §3.2, Eq. (3), (4), (9);
docs/design.md §2.

Module groups, by stage model:
  Stage I   SwinUNETR      encoder -> E,  decoder      -> D_LA
  Stage II  DualSwinUNETR  encoder -> E,  decoder_la   -> D_LA,  decoder_scar -> D_scar
  Stage III SwinUNETR      encoder -> E,  decoder      -> D_scar
A group present in the source is copied, a group absent is left at its fresh random init,
source groups the target lacks are dropped. Stage I -> III (baseline B2) initialises D_scar
from D_LA. Only a later stage may be initialised from an earlier one.
Tests: tests/test_model_transfer.py
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

GROUPS = {  # stage -> {group: module prefix in that stage's model}
    1: {"E": "encoder", "D_LA": "decoder"},
    2: {"E": "encoder", "D_LA": "decoder_la", "D_scar": "decoder_scar"},
    3: {"E": "encoder", "D_scar": "decoder"},
}
FALLBACK = {(1, 3): {"D_scar": "D_LA"}}  # baseline B2: D_scar initialised from D_LA


@dataclass
class TransferReport:
    """Which module groups an init loaded, left new (random) or dropped."""

    loaded: list[str] = field(default_factory=list)  # "D_scar <- D_LA"
    new: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def loaded_groups(self) -> list[str]:
        """Target groups that received weights ("D_scar <- D_LA" counts as D_scar)."""
        return [entry.split(" <- ")[0] for entry in self.loaded]

    def __str__(self) -> str:
        return (
            f"loaded: {', '.join(self.loaded) or '-'}; "
            f"new (random init): {', '.join(self.new) or '-'}; "
            f"dropped: {', '.join(self.dropped) or '-'}"
        )


def _group_state(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) + 1 :]: v for k, v in state.items() if k.startswith(prefix + ".")}


def transfer_weights(
    src_state: dict[str, torch.Tensor],
    src_stage: int,
    dst: nn.Module,
    dst_stage: int,
    source: str = "checkpoint",
) -> TransferReport:
    """Copy the module groups of a Stage `src_stage` state dict into `dst`, a Stage `dst_stage`
    model.

    Raises ValueError (naming `source`) if dst_stage <= src_stage or a copied group does not
    match the target architecture (keys or shapes).
    """
    if src_stage not in GROUPS or dst_stage not in GROUPS:
        raise ValueError(f"{source}: stages must be 1, 2 or 3, got {src_stage} -> {dst_stage}")
    if dst_stage <= src_stage:
        raise ValueError(
            f"{source}: a Stage {dst_stage} model can only be initialised from an earlier "
            f"stage, but this checkpoint is from Stage {src_stage}"
        )
    report = TransferReport()
    src_groups, dst_groups = GROUPS[src_stage], GROUPS[dst_stage]
    fallback = FALLBACK.get((src_stage, dst_stage), {})
    used = set()
    for group, dst_prefix in dst_groups.items():
        src_group = group if group in src_groups else fallback.get(group)
        if src_group is None:
            report.new.append(group)
            continue
        module = dst.get_submodule(dst_prefix)
        tensors = _group_state(src_state, src_groups[src_group])
        expected = module.state_dict()
        if set(tensors) != set(expected) or any(
            tensors[k].shape != expected[k].shape for k in expected
        ):
            bad = sorted(set(expected) ^ set(tensors)) or [
                k for k in expected if tensors[k].shape != expected[k].shape
            ]
            raise ValueError(
                f"{source}: group {src_group} ({src_groups[src_group]}) does not match the "
                f"Stage {dst_stage} architecture (feature size?); first mismatches: {bad[:3]}"
            )
        module.load_state_dict(tensors, strict=True)
        report.loaded.append(group if src_group == group else f"{group} <- {src_group}")
        used.add(src_group)
    report.dropped = [g for g in src_groups if g not in used]
    return report
