"""Leak-free 5-fold split — paper §4.2 ("20% of the data as validation, 5-fold
cross-validation"); docs/design.md §5.

Task 1 cases are shuffled with the seed and dealt round-robin into the folds; a Task 2 case that
is a copy of a Task 1 scan (matched by content, fingerprint.py) takes that scan's fold; the other
Task 2 cases are shuffled and dealt into the folds with the fewest Task 2 cases. Hence Stage I of
fold k (Task 2 minus fold k) never trains on a scan of Task 1's fold-k validation set.
Tests: tests/test_data_folds.py
"""

from __future__ import annotations

import random

N_FOLDS = 5  # §4.2


def assign_folds(
    task1: list[str],
    task2: list[str],
    matches: dict[str, str],
    n_folds: int = N_FOLDS,
    seed: int = 0,
) -> tuple[dict[str, int], dict[str, int]]:
    """task1, task2: case names; matches: Task 1 name -> its Task 2 copy.
    Returns (fold of each Task 1 case, fold of each Task 2 case)."""
    rng = random.Random(seed)
    names1 = sorted(task1)
    rng.shuffle(names1)
    fold1 = {name: i % n_folds for i, name in enumerate(names1)}
    fold2 = {matches[name]: fold1[name] for name in names1 if name in matches}
    rest = [name for name in sorted(task2) if name not in fold2]
    rng.shuffle(rest)
    counts = [sum(1 for f in fold2.values() if f == k) for k in range(n_folds)]
    for name in rest:
        k = min(range(n_folds), key=lambda j: (counts[j], j))
        fold2[name] = k
        counts[k] += 1
    return fold1, fold2


def split(folds: dict[str, int], fold: int) -> tuple[list[str], list[str]]:
    """(training names, validation names) of one fold."""
    if fold not in set(folds.values()):
        raise ValueError(
            f"fold {fold} is empty or out of range (folds present: {sorted(set(folds.values()))})"
        )
    train = sorted(n for n, f in folds.items() if f != fold)
    val = sorted(n for n, f in folds.items() if f == fold)
    return train, val
