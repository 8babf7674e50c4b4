"""Training: one stage end to end (fit), the step and epoch, validation, stage setup, stopping,
the output folder's lock, recipes over folds — paper §3.2, §4.2; docs/design.md §2, §8, §9."""
