"""Duplicate-proof fold groups — paper §4.2 (5-fold cross-validation); docs/design.md §5.

Folds must not leak: no scan may train in the fold where a copy of it validates. A copy can sit
in either task (the challenge's Task 2 holds every Task 1 scan), inside one task (a scan saved
twice), and in another orientation, data type, intensity scaling or under another name. Every scan
of the dataset is therefore compared with every other by its content fingerprint
(fingerprint.py); two scans whose fingerprints correlate >= MATCH_CORR are copies, and a *group*
is a connected component of that relation (a copy of a copy joins too). folds.py deals whole
groups into folds, so a group never spans folds.
Tests: tests/test_data_groups.py, tests/test_data_folds.py
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .fingerprint import MATCH_CORR
from .folds import assign_folds


@dataclass
class Groups:
    """The scans of a dataset in groups of copies of one scan."""

    members: list[list[str]]  # each group's names, sorted; groups ordered by their first name
    tasks: dict[str, int]  # name -> task (1: LA + scar, 2: LA only)
    links: dict[tuple[str, str], float] = field(default_factory=dict)  # joined pair -> corr

    def of(self) -> dict[str, int]:
        """name -> index of its group in `members`."""
        return {name: k for k, names in enumerate(self.members) for name in names}

    def shared(self) -> list[list[str]]:
        """The groups with more than one member."""
        return [names for names in self.members if len(names) > 1]

    def usual(self, names: list[str]) -> bool:
        """A group of one Task 1 scan and its one Task 2 copy (as in the challenge data)."""
        return sorted(self.tasks[n] for n in names) == [1, 2]

    def lines(self, full: bool = True) -> list[str]:
        """The report printed by `check` and `folds` (full) and at the start of training: how
        many scans and groups, every group with more than one member (not full: only those
        other than one Task 1 scan with its one Task 2 copy), and (when the dataset has both
        tasks) how many Task 1 scans have a copy in Task 2, with a warning for each that has
        none (if Task 2 holds it in a form that does not match, Stage I of its fold may train
        on it)."""
        shared = self.shared()
        listed = shared if full else [g for g in shared if not self.usual(g)]
        out = [
            f"fold groups: {len(self.tasks)} scans in {len(self.members)} groups; "
            f"{len(shared)} group(s) with more than one member (copies of one scan: "
            f"fingerprint correlation >= {MATCH_CORR}; a group never spans folds)"
        ]
        if len(listed) < len(shared):
            out[0] += (
                f"; {len(shared) - len(listed)} are one Task 1 scan with its Task 2 copy "
                f"(listed by python -m lascar_ref.data check)"
            )
        for names in listed:
            r = min(c for (a, b), c in self.links.items() if a in names and b in names)
            out.append(f"group: {', '.join(names)} (lowest linking correlation {r:.4f})")
        task1 = sorted(n for n, t in self.tasks.items() if t == 1)
        task2 = [n for n, t in self.tasks.items() if t == 2]
        if task1 and task2:
            of = self.of()
            lone = [n for n in task1 if not any(self.tasks[m] == 2 for m in self.members[of[n]])]
            out.append(
                f"fold matching: {len(task1) - len(lone)} of {len(task1)} Task 1 scans found in "
                f"Task 2 ({len(task2)} scans) by content (correlation >= {MATCH_CORR})"
            )
            out += [
                f"warning: {name} has no copy in Task 2; if Task 2 holds it in a form that does "
                f"not match, Stage I of its fold may train on it"
                for name in lone
            ]
        return out


def assign_by_group(groups: Groups, n_folds: int, seed: int) -> dict[str, int]:
    """The fold of every scan: folds.assign_folds over the groups' Task 1 and Task 2 names (the
    one assignment both training and `python -m lascar_ref.data folds` use)."""
    task1 = [n for n, t in groups.tasks.items() if t == 1]
    task2 = [n for n, t in groups.tasks.items() if t == 2]
    return assign_folds(task1, task2, groups.members, n_folds, seed)


def group_scans(
    prints: dict[str, np.ndarray], tasks: dict[str, int], min_corr: float = MATCH_CORR
) -> Groups:
    """prints: name -> z-scored fingerprint (fingerprint.py), for every scan of every task;
    tasks: name -> task. Groups = connected components of "correlation >= min_corr"."""
    names = sorted(prints)
    parent = list(range(len(names)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    links = {}
    if names:
        a = np.stack([prints[n].ravel() for n in names]).astype(np.float64)  # (N, P)
        corr = a @ a.T / a.shape[1]  # (N, N) Pearson correlations (z-scored rows)
        for i, j in zip(*np.nonzero(np.triu(corr >= min_corr, k=1))):
            links[(names[i], names[j])] = float(corr[i, j])
            parent[root(int(i))] = root(int(j))
    components: dict[int, list[str]] = {}
    for i, name in enumerate(names):
        components.setdefault(root(i), []).append(name)
    members = sorted(components.values(), key=lambda g: g[0])
    return Groups(members, {n: tasks[n] for n in names}, links)
