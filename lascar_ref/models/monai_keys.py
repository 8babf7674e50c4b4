"""MONAI interchange: the one file that knows MONAI's parameter names — docs/design.md §1.

Maps our role-named keys (encoder.swin.stages.0..., decoder.up4...) to the keys of MONAI 1.6.1
`SwinUNETR(in_channels=1, out_channels=1, feature_size=F)` (swinViT.layers1.0..., decoder5...)
and back. Accepts MONAI state dicts with or without a `module.` (DataParallel) prefix. MONAI's
`relative_position_index` buffers are checked on import and regenerated on export.
Checkpoints trained with MONAI <= 1.4 need `legacy_merge_order=True` (patch_ops.py).
No `import monai` here or anywhere in lascar_ref. Tests: tests/test_model_parity.py
"""

from __future__ import annotations

import re

import torch

from .swin_unetr import SwinUNETR

_SKIPS = {
    "skip0": "encoder1",
    "skip1": "encoder2",
    "skip2": "encoder3",
    "skip3": "encoder4",
    "bottom": "encoder10",
}
_UPS = {
    "up4": "decoder5",
    "up3": "decoder4",
    "up2": "decoder3",
    "up1": "decoder2",
    "up0": "decoder1",
}
_RES = {
    "conv1.weight": "conv1.conv.weight",
    "conv2.weight": "conv2.conv.weight",
    "project.0.weight": "conv3.conv.weight",
}
_BLOCK = {
    "attn.rel_bias_table": "attn.relative_position_bias_table",
    "mlp.fc1.": "mlp.linear1.",
    "mlp.fc2.": "mlp.linear2.",
}
_INDEX = "attn.relative_position_index"


def to_monai_key(key: str) -> str:
    """Our state-dict key -> MONAI's; raises KeyError for a key with no MONAI counterpart."""
    if key.startswith("encoder.swin.patch_embed."):
        return key.replace("encoder.swin.", "swinViT.", 1)
    m = re.fullmatch(r"encoder\.swin\.stages\.(\d)\.(blocks\.\d+|merge)\.(.+)", key)
    if m:
        stage, part, rest = int(m[1]) + 1, m[2], m[3]
        if part == "merge":
            return f"swinViT.layers{stage}.0.downsample.{rest}"
        for ours, theirs in _BLOCK.items():
            rest = rest.replace(ours, theirs)
        return f"swinViT.layers{stage}.0.{part}.{rest}"
    m = re.fullmatch(r"encoder\.(skip\d|bottom)\.(.+)", key)
    if m:
        return f"{_SKIPS[m[1]]}.layer.{_RES[m[2]]}"
    m = re.fullmatch(r"decoder\.(up\d)\.(up|res)\.(.+)", key)
    if m:
        rest = "transp_conv.conv.weight" if m[2] == "up" else "conv_block." + _RES[m[3]]
        return f"{_UPS[m[1]]}.{rest}"
    if key.startswith("decoder.head."):
        return key.replace("decoder.head.", "out.conv.conv.", 1)
    raise KeyError(f"no MONAI counterpart for parameter {key!r}")


def export_monai_state_dict(model: SwinUNETR) -> dict[str, torch.Tensor]:
    """Our SwinUNETR -> a state dict that MONAI's SwinUNETR loads with strict=True."""
    out = {to_monai_key(k): v.detach().clone() for k, v in model.state_dict().items()}
    for name, module in model.named_modules():
        if name.endswith(".attn"):
            out[
                to_monai_key(name + ".qkv.weight").replace("qkv.weight", "relative_position_index")
            ] = module.rel_index.clone()
    return out


def load_monai_state_dict(
    model: SwinUNETR, state: dict[str, torch.Tensor], source: str = "state dict"
) -> None:
    """Load a MONAI SwinUNETR state dict (optionally `module.`-prefixed) into `model`, strictly.

    Raises ValueError naming `source` and the offending keys on any missing, unexpected or
    mis-shaped entry, or on a relative_position_index that differs from ours.
    """
    state = {k[len("module.") :] if k.startswith("module.") else k: v for k, v in state.items()}
    ours = model.state_dict()
    names = {to_monai_key(k): k for k in ours}
    indices = {k for k in state if k.endswith(_INDEX)}
    missing = sorted(set(names) - set(state))
    unexpected = sorted(set(state) - set(names) - indices)
    if missing or unexpected:
        raise ValueError(
            f"{source}: not a MONAI SwinUNETR(in_channels=1, out_channels=1, feature_size="
            f"{model.feature_size}) state dict; missing {missing[:5]} ({len(missing)}), "
            f"unexpected {unexpected[:5]} ({len(unexpected)})"
        )
    for theirs, mine in names.items():
        if state[theirs].shape != ours[mine].shape:
            raise ValueError(
                f"{source}: {theirs} has shape {tuple(state[theirs].shape)}, expected "
                f"{tuple(ours[mine].shape)} (feature_size {model.feature_size})"
            )
    for key in indices:
        attn = model.get_submodule(names[key.replace(_INDEX, "attn.qkv.weight")].rsplit(".", 2)[0])
        if not torch.equal(state[key].to(attn.rel_index), attn.rel_index):
            raise ValueError(f"{source}: {key} differs from the window-7 relative position index")
    model.load_state_dict({mine: state[theirs] for theirs, mine in names.items()}, strict=True)


def from_monai_state_dict(
    state: dict[str, torch.Tensor],
    legacy_merge_order: bool = False,
    source: str = "state dict",
    **kwargs,
) -> SwinUNETR:
    """Build our SwinUNETR with the feature size read from a MONAI state dict and load it."""
    key = next((k for k in state if k.endswith("swinViT.patch_embed.proj.weight")), None)
    if key is None:
        raise ValueError(
            f"{source}: no swinViT.patch_embed.proj.weight; not a MONAI SwinUNETR state dict"
        )
    model = SwinUNETR(
        feature_size=state[key].shape[0], legacy_merge_order=legacy_merge_order, **kwargs
    )
    load_monai_state_dict(model, state, source)
    return model


def strip_module_prefix(state: dict) -> dict:
    """Keys without a DataParallel `module.` prefix."""
    return {k[len("module.") :] if k.startswith("module.") else k: v for k, v in state.items()}


def monai_layout(state: dict) -> str | None:
    """ "swin_unetr" (a MONAI SwinUNETR state dict), "ssl_encoder" (the self-supervised Swin
    encoder layout that MONAI's SwinUNETR.load_from reads: patch_embed.*, layers{1-4}.0.*) or None.
    `state` is a flat dict of tensors, with or without `module.` prefixes."""
    keys = set(strip_module_prefix(state))
    if any(k.startswith("swinViT.") for k in keys):
        return "swin_unetr"
    if "patch_embed.proj.weight" in keys and "layers1.0.blocks.0.attn.qkv.weight" in keys:
        return "ssl_encoder"
    return None


def ssl_encoder_state(state: dict, swin: torch.nn.Module, source: str = "state dict") -> dict:
    """The self-supervised Swin encoder layout (MONAI `load_from`: module.patch_embed.*,
    module.layers{s}.0.blocks.{i}.*, module.layers{s}.0.downsample.*) -> the keys of our Swin
    transformer `swin` (patch_embed.*, stages.{s-1}.blocks.{i}.*, stages.{s-1}.merge.*), checked to
    cover all of them with matching shapes (ValueError naming `source` otherwise). The skip
    blocks and decoders are not part of this layout."""
    out = {}
    for key, value in strip_module_prefix(state).items():
        if key.endswith(_INDEX):
            continue  # a buffer we rebuild; MONAI's load_from copies it unchanged
        if key.startswith("patch_embed."):
            out[key] = value
            continue
        m = re.fullmatch(r"layers(\d)\.0\.(blocks\.\d+|downsample)\.(.+)", key)
        if m:
            part = "merge" if m[2] == "downsample" else m[2]
            rest = m[3].replace("attn.relative_position_bias_table", "attn.rel_bias_table")
            out[f"stages.{int(m[1]) - 1}.{part}.{rest}"] = value
    ours = swin.state_dict()
    missing, unexpected = sorted(set(ours) - set(out)), sorted(set(out) - set(ours))
    shapes = sorted(k for k in set(ours) & set(out) if ours[k].shape != out[k].shape)
    if missing or unexpected or shapes:
        raise ValueError(
            f"{source}: not a matching Swin encoder in MONAI's load_from layout; missing "
            f"{missing[:3]} ({len(missing)}), unexpected {unexpected[:3]} ({len(unexpected)}), "
            f"shape mismatches {shapes[:3]}"
        )
    return out
