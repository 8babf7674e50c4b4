"""Eq. (2) composition — paper §3.1:  X' = T_k o ... o T_1(X), k = 8 operations of Table 1.

Deviation (the paper gives no order or implementation): the crop and the three spatial
operations share one sampling grid, so no padded border appears inside a patch, and the bias
field is applied to the sampled patch (docs/design.md §4).
Per sample, each operation is applied independently with its probability P (Table 1), with
parameters drawn from its ranges (table1.py). Order (docs/design.md §4): the label-guided crop and
T_elastic, T_rot, T_zoom as ONE sampling grid (spatial.py), then T_bias on the patch (its law
does not depend on the order with the warp), then T_blur, T_contrast, T_shift, T_noise.
Parameters for every operation are drawn whether or not it fires, so the random stream does not
depend on which ones fire. `sample_params` draws (CPU generator), `apply_params` is pure.
Tests: tests/test_table1_params.py; benchmark: bench/bench_augment.py
"""

from __future__ import annotations

import torch

from .bias_field import apply_bias, sample_bias
from .crop import POS_FRACTION, foreground_indices, sample_starts
from .intensity import (
    apply_blur,
    apply_contrast,
    apply_noise,
    apply_shift,
    sample_blur,
    sample_contrast,
    sample_noise,
    sample_shift,
)
from .spatial import apply_spatial, elastic_field, sample_elastic, sample_rotation, sample_zoom
from .table1 import ORDER, PAPER_P

SAMPLERS = {
    "bias": sample_bias,
    "elastic": sample_elastic,
    "rotation": sample_rotation,
    "zoom": sample_zoom,
    "blur": sample_blur,
    "contrast": sample_contrast,
    "shift": sample_shift,
    "noise": sample_noise,
}
INTENSITY = (
    ("bias", apply_bias),
    ("blur", apply_blur),
    ("contrast", apply_contrast),
    ("shift", apply_shift),
    ("noise", apply_noise),
)


def sample_params(
    batch_size: int,
    volume: tuple[int, int, int],
    patch: tuple[int, int, int],
    generator: torch.Generator,
    fg_indices: list | None = None,
    p: dict | None = None,
    pos_fraction: float = POS_FRACTION,
) -> dict:
    """Draw crop corners and all Table 1 parameters for `batch_size` patches (CPU tensors).

    p overrides Table 1 probabilities by key (e.g. {"rotation": 1.0}); unknown keys are an error.
    """
    probs = dict(PAPER_P)
    for key, value in (p or {}).items():
        if key not in probs:
            raise ValueError(f"unknown augmentation {key!r}; Table 1 keys are {list(ORDER)}")
        probs[key] = float(value)
    fg = fg_indices if fg_indices is not None else [None] * batch_size
    params = {"start": sample_starts(volume, patch, fg, generator, pos_fraction)}
    for key in ORDER:
        params[key] = SAMPLERS[key](batch_size, generator)
        params[key]["enabled"] = torch.rand(batch_size, generator=generator) < probs[key]
    return params


def _subset(op: dict, idx: list[int]) -> dict:
    return {k: v[idx] for k, v in op.items() if k != "enabled"}


def apply_params(
    image: torch.Tensor,
    labels: torch.Tensor | None,
    params: dict,
    patch: tuple[int, int, int],
    spacing_mm: tuple[float, float, float],
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """image (1 or B, 1, X, Y, Z), labels (1 or B, K, X, Y, Z) or None -> patches (B, 1, *patch),
    (B, K, *patch).

    Labels are linearly interpolated and thresholded at 0.5 (float32 0/1).
    """
    on = {key: params[key]["enabled"] for key in ORDER}
    B = params["start"].shape[0]
    angle = torch.where(on["rotation"], params["rotation"]["angle_deg"], torch.zeros(B))
    zoom = torch.where(on["zoom"], params["zoom"]["zoom"], torch.ones(B))
    disp = None
    elastic_idx = on["elastic"].nonzero().flatten().tolist()
    if elastic_idx:
        e = _subset(params["elastic"], elastic_idx)
        disp = torch.zeros((B, 3) + tuple(patch), device=image.device)
        disp[elastic_idx] = elastic_field(
            e["sigma_vox"], e["delta_vox"], e["seed"], patch, image.device
        )
    stacked = image.float() if labels is None else torch.cat([image.float(), labels.float()], 1)
    warped = on["rotation"] | on["zoom"] | on["elastic"]
    out = apply_spatial(stacked, params["start"], patch, spacing_mm, angle, zoom, disp, warped)
    x, y = out[:, :1], (None if labels is None else (out[:, 1:] > 0.5).float())
    for key, apply in INTENSITY:
        idx = on[key].nonzero().flatten().tolist()
        if idx:
            x[idx] = apply(x[idx], **_subset(params[key], idx))
    return x, y


def augment(
    image: torch.Tensor,
    labels: torch.Tensor | None,
    patch: tuple[int, int, int],
    spacing_mm: tuple[float, float, float],
    generator: torch.Generator,
    batch_size: int | None = None,
    fg_indices: list | None = None,
    p: dict | None = None,
) -> dict:
    """Eq. 2 for a batch: {"image": (B, 1, *patch), "labels": (B, K, *patch) or None, "params":
    ...}.

    image (1 or B, 1, X, Y, Z) on any device; B patches (default: image batch size).
    """
    B = batch_size or image.shape[0]
    params = sample_params(B, tuple(image.shape[2:]), patch, generator, fg_indices, p)
    x, y = apply_params(image, labels, params, patch, spacing_mm)
    return {"image": x, "labels": y, "params": params}


def augmented_samples(
    image: torch.Tensor,
    labels: torch.Tensor,
    patch: tuple[int, int, int],
    spacing_mm: tuple[float, float, float],
    n: int = 4,
    seed: int = 0,
    target_channel: int = 0,
) -> dict:
    """What the model sees: n augmented patches of one volume, image (1, 1, X, Y, Z), labels
    (1, K, X, Y, Z), label-guided on labels[:, target_channel]."""
    g = torch.Generator().manual_seed(seed)
    fg = foreground_indices(labels[0, target_channel])
    return augment(image, labels, patch, spacing_mm, g, batch_size=n, fg_indices=[fg] * n)
