"""Weight transfer between the progressive stages — paper §3.2, Eq. (3), (4), (9);
docs/design.md §2.

A model's module groups (E, D_LA, D_scar -> module prefix) are given by the caller, from the
stage table (stage_table.StageSpec.groups). A group present in the source is copied, a group
absent is left at its fresh random init unless `missing` names a source group to take it from
(Stage I -> III, baseline B2: D_scar from D_LA), source groups the target lacks are dropped.
Which stage may initialise which is the stage table's `init_from` (checkpoints/init_weights.py
checks it).
Tests: tests/test_model_transfer.py
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn


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
    src_groups: dict[str, str],
    dst: nn.Module,
    dst_groups: dict[str, str],
    missing: dict[str, str] | None = None,
    source: str = "checkpoint",
) -> TransferReport:
    """Copy the module groups of a state dict whose model has `src_groups` (group -> prefix) into
    `dst`, whose groups are `dst_groups`; a target group absent from the source is taken from
    `missing[group]` when given.

    Raises ValueError (naming `source`) if a copied group does not match the target architecture
    (keys or shapes).
    """
    report = TransferReport()
    missing = missing or {}
    used = set()
    for group, dst_prefix in dst_groups.items():
        src_group = group if group in src_groups else missing.get(group)
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
                f"target architecture (feature size?); first mismatches: {bad[:3]}"
            )
        module.load_state_dict(tensors, strict=True)
        report.loaded.append(group if src_group == group else f"{group} <- {src_group}")
        used.add(src_group)
    report.dropped = [g for g in src_groups if g not in used]
    return report
