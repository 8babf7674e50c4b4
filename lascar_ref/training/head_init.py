"""The output bias of a new scar head — docs/design.md §2 (the scar head's start).

The paper initialises D_scar randomly (theta_0, Eq. 4) and says nothing of its output bias.
torch's default draws the 1x1x1 head's bias from U(-1/sqrt(F), 1/sqrt(F)) (+-0.29 at F = 12), so
a new head starts at p = sigmoid(b) = 0.43-0.57 everywhere, on a target that covers well under 1%
of the voxels. `--scar-bias-init prior` starts it at the scar prior instead, as focal-loss
detectors do (Lin et al., RetinaNet): b = log(pi / (1 - pi)), pi the fraction of scar voxels in
the training fold's crops (the preprocessed training volumes, X x Y x Z each), so sigmoid(b) = pi.
Only the bias moves; the weights keep their random initialisation, and a head loaded by --init
is never touched. This is the default (docs/design.md §2: at the demo size, torch's bias left
Stage II ~130 steps of unlearning the background before any scar appeared; bench/README.md, "Why
Stage II learned no scar at CPU size"); `--scar-bias-init default` restores torch's.
Deviation: the paper initialises D_scar randomly and says nothing of the bias.
Tests: tests/test_head_init.py
"""

from __future__ import annotations

import math

import torch

from ..labels import SCAR
from ..stage_data import CaseTensors
from ..stage_table import StageSpec


def scar_prior(cases: list[CaseTensors]) -> float:
    """pi: scar voxels / all voxels over the training cases' label volumes (1, 3, X, Y, Z); NaN
    when they hold no scar voxel (no prior to start from)."""
    scar = sum(float((c.labels[:, SCAR] > 0.5).sum()) for c in cases)
    total = sum(c.labels[:, SCAR].numel() for c in cases)
    return scar / total if total and scar else math.nan


def prior_bias(pi: float) -> float:
    """log(pi / (1 - pi)): the logit whose sigmoid is pi."""
    return math.log(pi / (1.0 - pi))


def init_scar_bias(model: torch.nn.Module, spec: StageSpec, loaded: list[str], pi: float) -> str:
    """Set the new scar head's output bias to prior_bias(pi); "" when the stage has no new scar
    head (none in the stage, or it was loaded), else a line saying what was set (or, for a NaN
    pi, that the head keeps torch's default bias)."""
    prefix = spec.decoders.get("scar")
    if prefix is None or "D_scar" in loaded:
        return ""
    if math.isnan(pi):
        return "the training cases hold no scar voxel: the new scar head keeps torch's default bias"
    b = prior_bias(pi)
    with torch.no_grad():
        model.get_submodule(prefix).head.bias.fill_(b)
    return f"scar head bias set to the prior: pi = {pi:.5f}, b = log(pi / (1 - pi)) = {b:.3f}"
