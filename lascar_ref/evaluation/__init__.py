"""Evaluation: metrics, evaluating a checkpoint, the paper's tables over folds and recipes,
figures — paper §4.2-4.4; docs/design.md §6, §9."""
