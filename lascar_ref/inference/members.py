"""The checkpoints of a prediction and their probabilities on a scan — paper §4.2 (inference);
docs/design.md §10.

A Predictor is one checkpoint ready to predict (its structures and preprocessing; an ensemble is
several). `member_probs` resamples the RAS-ordered scan to each predictor's spacing, z-scores it
with the statistics of the training-size centre crop (as preprocessing does), runs Gaussian
sliding-window inference over the *whole* resampled scan (never only the crop, so an LA near the
edge of a large field of view is still found) and resamples each probability back to the scan's
grid (trilinear); it also computes each predictor's input features (input_stats.py) and, for the
flip check, the masks of a structure one predictor gives alone under a flip of each axis.
`ensemble_probs` averages the members per structure.
Tests: tests/test_predict.py, tests/test_input_stats.py; benchmark: bench/bench_predict.py
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoints.init_weights import read_weights
from ..config import OVERLAP, PATCH
from ..data.preprocess import TARGET_SIZE, TARGET_SPACING_MM, crop_or_pad, resample
from ..models.monai_keys import from_monai_state_dict
from ..runtime.device import autocast_for, resolve_amp
from ..stage_table import STAGES, build_model, predict_logits
from .input_stats import content, features
from .sliding_window import sliding_window_probs


@dataclass
class Predictor:
    """One checkpoint ready to predict: its structures and its preprocessing."""

    name: str
    structures: tuple[str, ...]  # output channels ("la", "scar")
    predict: object  # (n, 1, *patch) -> (n, K, *patch) logits
    spacing_mm: tuple[float, float, float]
    size: tuple[int, int, int]  # training crop (z-score statistics)
    patch: tuple[int, int, int]
    overlap: float
    use: tuple[str, ...] | None = None  # the structures it contributes (None: all; --la-ckpt: LA)
    input_stats: dict | None = None  # the training images' features (None: unchecked)
    flip_reference: dict | None = None  # the flip check on its validation scans (or None)


def load_predictor(
    path,
    device: torch.device,
    monai_structure: str = "scar",
    monai_spacing=TARGET_SPACING_MM,
    monai_size=TARGET_SIZE,
) -> Predictor:
    """A lascar_ref checkpoint (its own preprocessing) or a MONAI SwinUNETR state dict (one
    structure, `monai_structure`, at the paper's preprocessing)."""
    src = read_weights(path)
    if src.kind == "ssl":
        raise ValueError(
            f"{path}: a self-supervised Swin encoder has no decoder; it cannot segment"
        )
    if src.kind == "monai":
        model = from_monai_state_dict(src.state, source=str(path)).to(device).eval()
        return Predictor(
            str(path),
            (monai_structure,),
            model,
            tuple(monai_spacing),
            tuple(monai_size),
            PATCH,
            OVERLAP,
        )
    spec = STAGES[src.stage]
    model = build_model(spec, src.feature_size)
    model.load_state_dict(src.state["model"])
    predictor = stage_predictor(str(path), model.to(device), spec, src.state["config"])
    predictor.input_stats = src.state.get("input_stats")
    predictor.flip_reference = src.state.get("flip_reference")
    return predictor


def stage_predictor(name: str, model, spec, cfg: dict) -> Predictor:
    """A Predictor of a stage model (on its device) with the preprocessing of its configuration
    (a checkpoint's "config" or config_dict(TrainConfig)); eval.py --fov whole uses it too."""
    return Predictor(
        name,
        spec.outputs,
        predict_logits(model.eval(), spec),
        tuple(cfg["spacing_mm"]),
        tuple(cfg["size"]),
        tuple(cfg["patch"]),
        cfg["overlap"],
    )


FLIP_CHECK = ((2,), (3,), (4,))  # the flip check's passes besides the identity: each axis alone


def normalised_input(data: np.ndarray, spacing, p: Predictor) -> tuple[np.ndarray, tuple]:
    """(X, Y, Z) RAS scan -> (the whole scan resampled to p.spacing_mm and z-scored with the mean
    and std of its training-size centre crop, as preprocessing does; the slices that remove the
    padding). An axis shorter than the training size is centre-padded with the minimum, as in
    training; nothing is ever cropped."""
    image = resample(np.asarray(data, dtype=np.float32), spacing, p.spacing_mm, label=False)
    crop, _ = crop_or_pad(image, p.size, float(image.min()))
    std, mean = float(crop.std()), float(crop.mean())
    grown = tuple(max(n, s) for n, s in zip(image.shape, p.size))
    padded, starts = crop_or_pad(image, grown, float(image.min()))  # starts <= 0: padding only
    keep = tuple(slice(-st, -st + n) for st, n in zip(starts, image.shape))
    return ((padded - mean) / (std if std > 0 else 1.0)).astype(np.float32), keep


@dataclass
class Members:
    """What the predictors said of one scan, on its grid (X, Y, Z)."""

    probs: dict[str, list[np.ndarray]]  # structure -> each predictor's probability
    features: list[dict[str, float]]  # each predictor's input features (input_stats.features)
    flips: dict[str, list[np.ndarray]]  # structure -> its only predictor's masks under the
    # identity and FLIP_CHECK (the flip check), for structures that one predictor gives alone
    flip_reference: dict[str, float] = field(default_factory=dict)  # structure -> that
    # predictor's median flip agreement on its validation scans, where its checkpoint has one


@torch.no_grad()
def member_probs(
    data: np.ndarray,
    spacing,
    predictors: list[Predictor],
    device,
    mirror=False,
    sw_batch_size: int = 2,
    flip_check: bool = False,
) -> Members:
    """Each predictor's probabilities on the scan's grid, its input features, and with
    `flip_check` the flip passes of the structures one predictor gives alone."""
    amp = resolve_amp("auto", device)
    wanted = [[n for n in p.structures if p.use is None or n in p.use] for p in predictors]
    alone = {n for names in wanted for n in names if sum(n in w for w in wanted) == 1}
    out = Members({}, [], {})
    for p, names in zip(predictors, wanted):
        image, keep = normalised_input(data, spacing, p)
        scan = image[keep]  # the resampled, z-scored scan without the padding
        crop, starts = crop_or_pad(scan, p.size, float(scan.min()))
        out.features.append(features(content(crop, starts, scan.shape)))
        x = torch.from_numpy(image)[None, None].to(device)  # (1, 1, X', Y', Z')

        def probs_of(dims, p=p, x=x, keep=keep) -> torch.Tensor:  # (K, X, Y, Z) on the scan grid
            flipped = x.flip(dims) if dims else x
            with autocast_for(device, amp)():
                probs = sliding_window_probs(
                    flipped, p.predict, p.patch, p.overlap, sw_batch_size, mirror, progress=False
                )
            probs = (probs.flip(dims) if dims else probs)[(..., *keep)]  # without the padding
            if probs.shape[2:] != data.shape:  # back to the scan's own grid
                probs = F.interpolate(
                    probs.float(), size=data.shape, mode="trilinear", align_corners=False
                )
            return probs[0].float()

        probs = probs_of(())
        checked = [n for n in names if flip_check and n in alone]
        passes = [probs] + [probs_of(d) for d in (FLIP_CHECK if checked else ())]
        for name in names:
            k = p.structures.index(name)
            out.probs.setdefault(name, []).append(probs[k].cpu().numpy())
            if name in checked:
                out.flips[name] = [(q[k] > 0.5).cpu().numpy() for q in passes]
                if p.flip_reference and name in p.flip_reference:
                    out.flip_reference[name] = float(p.flip_reference[name]["median"])
    return out


def ensemble_probs(
    data: np.ndarray,
    spacing,
    predictors: list[Predictor],
    device,
    mirror=False,
    sw_batch_size: int = 2,
) -> dict[str, np.ndarray]:
    """structure -> mean probability of the predictors giving it, on the scan's grid (X, Y, Z)."""
    members = member_probs(data, spacing, predictors, device, mirror, sw_batch_size).probs
    return {name: np.mean(m, axis=0).astype(np.float32) for name, m in members.items()}
