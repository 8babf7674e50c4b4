"""Presets of the training configuration — docs/design.md §7.

"paper": the paper's settings (config.TrainConfig's defaults). "demo": a small model and phantom
set for CPUs (minutes); it is not the paper's recipe. `per_stage` values apply to one stage only
(config.make_config).
Tests: tests/test_config.py
"""

PRESETS = {
    "paper": {},
    "demo": dict(
        feature_size=12,
        patch=(64, 64, 32),
        spacing_mm=(1.25, 1.25, 2.5),  # the phantoms' own grid: a 2-3 mm wall stays >= 2 voxels
        size=(96, 96, 32),
        phantom_task1=8,
        phantom_task2_only=16,
        phantom_shape=(96, 96, 24),
        phantom_spacing=(1.25, 1.25, 2.5),
        patience=16,  # >= every stage's epochs: each stage runs its whole budget (design §7)
        lr=1e-3,
        sw_batch_size=2,
        cache=".cache/lascar_ref_demo",
        per_stage={  # most of the ~13 min goes where the scar is learned: Stage III (design §7)
            1: dict(max_epochs=8, steps_per_epoch=18),
            2: dict(max_epochs=8, steps_per_epoch=12, alpha_ramp_epochs=3),
            3: dict(max_epochs=16, steps_per_epoch=16),
        },
    ),
}
