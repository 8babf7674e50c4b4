"""The fold of every case, as training assigns it, without training — paper §4.2;
docs/design.md §5.

`dataset_assignment(ds, n_folds, seed)`: every scan read and validated, copies of one scan
grouped by content (groups.py) and whole groups dealt into folds (folds.py): the same assignment
stage_data.fold_split makes before training (it reads the same fingerprints from the cache).
Used by `python -m lascar_ref.data folds` and `... nnunet`. Tests: tests/test_data_splits.py,
tests/test_eval_pred.py
"""

from __future__ import annotations

from .dataset import Dataset
from .fingerprint import fingerprint
from .groups import Groups, assign_by_group, group_scans
from .input_checks import load_case


def dataset_assignment(ds: Dataset, n_folds: int, seed: int) -> tuple[dict[str, int], Groups]:
    """(case name -> fold, the groups of copies) of every case of `ds`."""
    prints = {}
    for cases in ds.cases.values():
        for case in cases:
            img, _, _ = load_case(case)
            prints[case.name] = fingerprint(img.data, img.affine)
    groups = group_scans(prints, ds.names())
    return assign_by_group(groups, n_folds, seed), groups
