"""Leak-free 5-fold split — paper §4.2 ("20% of the data as validation, 5-fold
cross-validation"); docs/design.md §5.

Whole groups of copies of one scan (groups.py) are dealt, never single scans, so a group never
spans folds. The groups holding Task 1 scans are shuffled with the seed and each goes to the fold
with the fewest Task 1 scans (ties: the lowest fold); the groups of Task 2 scans only are then
shuffled and each goes to the fold with the fewest Task 2 scans. With no copies inside a task this
is the round-robin deal of Task 1 with each Task 2 copy in its Task 1 scan's fold, so folds made
before grouping existed are unchanged. Hence Stage I of fold k (Task 2 minus fold k) never trains
on a copy of a scan of fold k's validation set, and Stages II/III never train on a copy of one
of their own validation scans. Tests: tests/test_data_folds.py
"""

from __future__ import annotations

import random

N_FOLDS = 5  # §4.2


def assign_folds(
    task1: list[str],
    task2: list[str],
    groups: list[list[str]],
    n_folds: int = N_FOLDS,
    seed: int = 0,
) -> dict[str, int]:
    """task1, task2: case names (unique across tasks); groups: every name in exactly one group
    (groups.py; singletons allowed). Returns the fold of every case of both tasks."""
    rng = random.Random(seed)
    in1, in2 = set(task1), set(task2)
    by_key = {min(g): g for g in map(sorted, groups)}
    named = {n for g in groups for n in g}
    by_key.update({n: [n] for n in sorted((in1 | in2) - named)})  # ungrouped: alone
    groups1 = {}  # the groups holding Task 1 scans, keyed by their smallest Task 1 name
    for group in by_key.values():
        ones = [n for n in group if n in in1]
        if ones:
            groups1[min(ones)] = group
    keys1 = sorted(groups1)
    rng.shuffle(keys1)
    folds: dict[str, int] = {}
    count1, count2 = [0] * n_folds, [0] * n_folds
    for key in keys1:
        group = groups1[key]
        k = min(range(n_folds), key=lambda j: (count1[j], j))
        folds.update({n: k for n in group})
        count1[k] += sum(n in in1 for n in group)
        count2[k] += sum(n in in2 for n in group)
    rest = sorted(k for k, g in by_key.items() if not in1 & set(g))
    rng.shuffle(rest)
    for key in rest:
        k = min(range(n_folds), key=lambda j: (count2[j], j))
        folds.update({n: k for n in by_key[key]})
        count2[k] += len(by_key[key])
    return folds


def split(folds: dict[str, int], fold: int) -> tuple[list[str], list[str]]:
    """(training names, validation names) of one fold."""
    if fold not in set(folds.values()):
        raise ValueError(
            f"fold {fold} is empty or out of range (folds present: {sorted(set(folds.values()))})"
        )
    train = sorted(n for n, f in folds.items() if f != fold)
    val = sorted(n for n, f in folds.items() if f == fold)
    return train, val
