"""Weights from outside the current stage: --init and predict.py --ckpt — paper §3.2;
docs/design.md §2, §10.

Three kinds of file are read (always with torch.load(weights_only=True)):
  lascar    a lascar_ref checkpoint of an earlier stage (models/transfer.py moves its groups);
  monai     a MONAI SwinUNETR state dict (a plain torch.save of state_dict(), with or without
            `module.`, or a dict holding it under "state_dict"): E and its one decoder, which
            becomes the target's D_LA (Stages I, II) or D_scar (Stage III);
  ssl       MONAI's self-supervised Swin encoder (the layout SwinUNETR.load_from reads): the Swin
            transformer of E only; skip blocks and decoders stay random.
Protection (Stage II 0.1x lr, Stage III freeze) applies to groups loaded from a trained
segmentation model (lascar, monai); self-supervised features are a starting point, not an
earlier stage, so an ssl init loads E's Swin part and protects nothing.
Tests: tests/test_monai_weights.py
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..models.monai_keys import (
    from_monai_state_dict,
    monai_layout,
    ssl_encoder_state,
    strip_module_prefix,
)
from ..models.transfer import TransferReport, transfer_weights
from ..stage_table import ONE_DECODER, STAGES, StageSpec
from .files import SCHEMAS, check_schema, file_sha256, is_checkpoint, safe_load


@dataclass
class WeightsFile:
    """A weights file as read: its kind, its tensors and what they are."""

    kind: str  # "lascar", "monai" or "ssl"
    path: Path
    state: dict  # lascar: the checkpoint; monai / ssl: flat tensors without `module.`
    feature_size: int
    stage: int | None = None  # lascar only
    sha256: str = ""  # of the file's bytes (a checkpoint records its --init's)


def read_weights(path: str | Path) -> WeightsFile:
    """Classify and check a weights file; CheckpointError naming it (with its first keys) if it
    is none of the three kinds."""
    path = Path(path)
    obj = safe_load(path)
    if is_checkpoint(obj):
        check_schema(obj, path, SCHEMAS["weights"])
        return WeightsFile(
            "lascar", path, obj, obj["arch"]["feature_size"], obj["stage"], file_sha256(path)
        )
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    layout = monai_layout(state) if isinstance(state, dict) else None
    if layout is None:
        keys = sorted(state)[:3] if isinstance(state, dict) else type(obj).__name__
        raise CheckpointError(
            f"{path}: neither a lascar_ref checkpoint, a MONAI SwinUNETR state dict nor a MONAI "
            f"Swin encoder (SwinUNETR.load_from layout); found {keys}"
        )
    flat = strip_module_prefix(state)
    key = "swinViT.patch_embed.proj.weight" if layout == "swin_unetr" else "patch_embed.proj.weight"
    kind = "monai" if layout == "swin_unetr" else "ssl"
    return WeightsFile(kind, path, flat, int(flat[key].shape[0]), sha256=file_sha256(path))


def transfer_stage(
    src_state: dict, src_stage: int, model: torch.nn.Module, spec: StageSpec, source: str
) -> TransferReport:
    """A Stage `src_stage` state dict into a model of `spec` (models/transfer.py), if the stage
    table lets that stage initialise this one (`init_from`); ValueError naming `source` otherwise
    (and for a group that does not match the architecture)."""
    if src_stage not in spec.init_from:
        raise ValueError(
            f"{source}: a Stage {spec.number} model can only be initialised from "
            f"Stage {' or '.join(map(str, spec.init_from)) or '- (random init)'}, "
            f"but this checkpoint is from Stage {src_stage}"
        )
    src = STAGES[src_stage]
    return transfer_weights(src_state, src.groups, model, spec.groups, spec.missing_decoder, source)


def apply_weights(
    src: WeightsFile, model: torch.nn.Module, spec: StageSpec
) -> tuple[list[str], str]:
    """Load `src` into a stage model; returns (groups loaded for protection, a report line)."""
    if src.kind == "lascar":
        report = transfer_stage(src.state["model"], src.stage, model, spec, str(src.path))
        return report.loaded_groups(), f"{src.path} (Stage {src.stage}): {report}"
    if src.kind == "monai":
        single = from_monai_state_dict(src.state, source=str(src.path)).state_dict()
        decoder = spec.monai_decoder  # the group MONAI's one decoder becomes (stage table)
        report = TransferReport(new=[g for g in spec.groups if g not in ("E", decoder)])
        for group, prefix in (("E", ONE_DECODER["E"]), (decoder, ONE_DECODER["decoder"])):
            part = {
                k[len(prefix) + 1 :]: v for k, v in single.items() if k.startswith(prefix + ".")
            }
            model.get_submodule(spec.groups[group]).load_state_dict(part, strict=True)
            report.loaded.append(group if group == "E" else f"{group} <- decoder")
        return report.loaded_groups(), f"{src.path} (MONAI SwinUNETR): {report}"
    swin = model.get_submodule(spec.groups["E"] + ".swin")
    swin.load_state_dict(ssl_encoder_state(src.state, swin, str(src.path)), strict=True)
    new = ", ".join(g for g in spec.groups if g != "E")
    return [], (
        f"{src.path} (MONAI self-supervised Swin encoder): loaded: E's Swin transformer; "
        f"new (random init): E's skip blocks, {new}; nothing protected"
    )
