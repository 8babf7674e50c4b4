"""What the flip check gives on scans a checkpoint is known to handle — docs/design.md §10.

predict.py's flip check (inference/members.py: the identity and a flip of each axis, FLIP_CHECK)
flags a scan whose flip passes disagree. A fixed threshold judges the model's strength, not the
scan: a briefly trained model disagrees with itself under flips on every scan (bench/README.md:
a demo-size Stage I flagged 5 of 20 real LGE scans whose LA Dice was no worse than the rest).
So at the end of each training run the kept checkpoint (stage{N}.pt) records, per output
structure, the mean pairwise Dice of the flip passes on each of its fold's validation scans (the
preprocessed grid, thresholded at 0.5 as predict.py does), summarised as {"median", "min",
"max", "n"} under "flip_reference"; inference/qc.flip_flags flags a new scan whose agreement is
below FLIP_REL x that median. Checkpoints without it keep the fixed thresholds, said in the flag.
Tests: tests/test_qc.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..checkpoints import load_checkpoint, save_checkpoint
from ..inference.members import FLIP_CHECK
from ..inference.qc import member_dice
from ..inference.sliding_window import sliding_window_probs
from ..runtime.device import autocast_for
from ..stage_data import CaseTensors
from ..stage_table import StageSpec, build_model, predict_logits


@torch.no_grad()
def flip_reference(
    model, cases: list[CaseTensors], spec: StageSpec, *, patch, overlap, sw_batch_size, amp_dtype
) -> dict[str, dict[str, float]]:
    """{structure: {"median", "min", "max", "n"}} of the flip passes' mean pairwise Dice over the
    cases' whole preprocessed volumes (the module docstring); {} without cases."""
    model.eval()
    predict = predict_logits(model, spec)
    per = {name: [] for name in spec.outputs}
    for case in cases:
        passes = []
        for dims in ((), *FLIP_CHECK):
            x = case.image.flip(dims) if dims else case.image  # (1, 1, X, Y, Z)
            with autocast_for(x.device, amp_dtype)():
                probs = sliding_window_probs(
                    x, predict, patch, overlap, sw_batch_size, progress=False
                )
            probs = probs.flip(dims) if dims else probs
            passes.append((probs[0] > 0.5).cpu().numpy())  # (K, X, Y, Z)
        for k, name in enumerate(spec.outputs):
            per[name].append(member_dice([m[k] for m in passes]))
    model.train()
    return {
        name: {
            "median": float(np.median(v)),
            "min": float(np.min(v)),
            "max": float(np.max(v)),
            "n": len(v),
        }
        for name, v in per.items()
        if v
    }


def record_flip_reference(path: Path, spec: StageSpec, cfg, cases, amp_dtype, device) -> dict:
    """flip_reference of the checkpoint at `path` (its own weights) on `cases`, written into it
    atomically under "flip_reference"; returns it."""
    state = load_checkpoint(path, (spec.number,))
    model = build_model(spec, cfg.feature_size).to(device)
    model.load_state_dict(state["model"])
    given = dict(patch=cfg.patch, overlap=cfg.overlap, sw_batch_size=cfg.sw_batch_size)
    state["flip_reference"] = flip_reference(model, cases, spec, amp_dtype=amp_dtype, **given)
    save_checkpoint(state, path)
    return state["flip_reference"]


def reference_for_checkpoint(path: Path, device, say=print) -> dict[str, dict[str, float]]:
    """flip_reference of a checkpoint written before training recorded it: its own fold's
    validation scans (the stage's task, as fit.py validates on) rebuilt from its configuration's
    dataset and cache; the checkpoint is not changed."""
    from ..evaluation.evaluate import evaluation_config
    from ..stage_data import fold_split, require_task, to_device
    from ..stage_table import STAGES

    state = load_checkpoint(path)
    spec, cfg = STAGES[state["stage"]], evaluation_config(state)
    fs = fold_split(cfg, say)
    _, val = fs.cases(require_task(fs.dataset, spec), cfg.fold)
    model = build_model(spec, cfg.feature_size).to(device)
    model.load_state_dict(state["model"])
    cases = [to_device(p, spec.target, device) for p in val]
    given = dict(patch=cfg.patch, overlap=cfg.overlap, sw_batch_size=cfg.sw_batch_size)
    return flip_reference(model, cases, spec, amp_dtype=None, **given)
