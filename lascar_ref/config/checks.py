"""The checks of a training configuration's values — docs/design.md §8.

`config_checks(cfg)` lists (option, valid?, what is expected) for every constrained option of
config.TrainConfig; TrainConfig raises one ValueError naming every invalid option, before any
data is read. The stage numbers come from the stage table (STAGES).
Tests: tests/test_config.py
"""

from __future__ import annotations

from ..losses.stage_losses import WALL_WEIGHTINGS  # --wall-weighting
from ..stage_table import STAGES

AMP_CHOICES = ("auto", "bf16", "fp16", "off")  # --amp (runtime/device.py)
PROGRESS_CHOICES = ("auto", "on", "off")  # --progress
BIAS_CHOICES = ("default", "prior")  # --scar-bias-init (training/head_init.py)


def config_checks(c) -> list[tuple[str, bool, str]]:
    """(option, valid?, what is expected) for every constrained option."""
    return [
        ("stage", c.stage in STAGES, f"must be one of {sorted(STAGES)}"),
        ("amp", c.amp in AMP_CHOICES, f"must be one of {AMP_CHOICES}"),
        (
            "patch",
            all(p % 32 == 0 and p > 0 for p in c.patch),
            "must be divisible by 32 in every axis (docs/design.md §0); "
            "e.g. 224 instead of the paper's 228",
        ),
        ("n_folds", c.n_folds >= 2, "must be at least 2 (one fold validates, the others train)"),
        ("fold", 0 <= c.fold < max(c.n_folds, 1), f"must lie in [0, {c.n_folds})"),
        ("lr", c.lr > 0, "must be > 0"),
        ("pretrained_lr_scale", c.pretrained_lr_scale > 0, "must be > 0"),
        ("weight_decay", c.weight_decay >= 0, "must be >= 0"),
        ("grad_clip", c.grad_clip >= 0, "must be >= 0 (0 = no clipping)"),
        ("batch_size", c.batch_size >= 1, "must be >= 1"),
        ("max_epochs", c.max_epochs >= 1, "must be >= 1"),
        ("patience", c.patience >= 1, "must be >= 1"),
        ("min_delta", c.min_delta >= 0, "must be >= 0"),
        ("val_every", c.val_every >= 1, "must be >= 1"),
        ("select_from", c.select_from >= -1, "must be >= 0, or -1 (the end of the alpha ramp)"),
        ("steps_per_epoch", c.steps_per_epoch >= 0, "must be >= 0 (0 = one patch per case)"),
        (
            "feature_size",
            c.feature_size > 0 and c.feature_size % 12 == 0,
            "must be a positive multiple of 12",
        ),
        ("overlap", 0 <= c.overlap < 1, "must lie in [0, 1)"),
        ("sw_batch_size", c.sw_batch_size >= 1, "must be >= 1"),
        ("spacing_mm", all(s > 0 for s in c.spacing_mm), "must be positive"),
        ("size", all(s > 0 for s in c.size), "must be positive"),
        ("alpha_ramp_epochs", c.alpha_ramp_epochs >= 0, "must be >= 0"),
        ("lam", 0 <= c.lam <= 1, "must lie in [0, 1]"),
        ("progress", c.progress in PROGRESS_CHOICES, f"must be one of {PROGRESS_CHOICES}"),
        ("scar_bias_init", c.scar_bias_init in BIAS_CHOICES, f"must be one of {BIAS_CHOICES}"),
        (
            "wall_weighting",
            c.wall_weighting in WALL_WEIGHTINGS,
            f"must be one of {WALL_WEIGHTINGS}",
        ),
    ]
