"""Content fingerprints that match the Task 1 and Task 2 copies of a scan — docs/design.md §5.

Folds must not leak (paper §4.2 with Stage I on Task 2 and Stages II-III on Task 1): a scan in
Task 1's fold-k validation set must not be a Stage I training scan of fold k. The copies of a scan
may be stored in another orientation, data type or intensity scaling, so an exact hash of the
voxels is not enough. The fingerprint is the image reoriented to RAS (nibabel's closest canonical
orientation), average-pooled to FP_SHAPE and z-scored; two scans are the same when the Pearson
correlation of their fingerprints is >= MATCH_CORR (distinct scans of one anatomy stay far below;
tests/test_data_folds.py measures both).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from nibabel.orientations import apply_orientation, axcodes2ornt, io_orientation, ornt_transform

FP_SHAPE = (32, 32, 8)  # pooled grid of the fingerprint
MATCH_CORR = 0.99  # minimum correlation of two fingerprints of one scan


def canonical(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """(X, Y, Z) voxels reordered / flipped to the world's RAS axis order (closest canonical)."""
    transform = ornt_transform(io_orientation(affine), axcodes2ornt("RAS"))
    return apply_orientation(data, transform)


def fingerprint(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """(X, Y, Z) image + affine -> FP_SHAPE float32, zero mean and unit variance."""
    ras = np.ascontiguousarray(canonical(np.asarray(data, dtype=np.float32), affine))
    pooled = F.adaptive_avg_pool3d(torch.from_numpy(ras)[None, None], FP_SHAPE)[0, 0].numpy()
    std = float(pooled.std())
    return ((pooled - pooled.mean()) / (std if std > 0 else 1.0)).astype(np.float32)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two z-scored fingerprints."""
    return float(np.mean(a.astype(np.float64) * b.astype(np.float64)))


@dataclass
class MatchReport:
    """Which Task 1 scan is which Task 2 scan (name -> (name, correlation)) and which has none."""

    matches: dict[str, tuple[str, float]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    n_task2: int = 0

    def lines(self) -> list[str]:
        n1 = len(self.matches) + len(self.unmatched)
        out = [
            f"fold matching: {len(self.matches)} of {n1} Task 1 scans found in Task 2 "
            f"({self.n_task2} scans) by content (correlation >= {MATCH_CORR})"
        ]
        out += [
            f"warning: {name} has no copy in Task 2; if Task 2 holds it in a form that does "
            f"not match, Stage I of its fold may train on it"
            for name in self.unmatched
        ]
        return out


def match_scans(
    task1: dict[str, np.ndarray], task2: dict[str, np.ndarray], min_corr: float = MATCH_CORR
) -> MatchReport:
    """Each Task 1 scan -> its best-correlated Task 2 scan, if the correlation reaches min_corr.
    A Task 2 scan is matched at most once (best first)."""
    names1, names2 = sorted(task1), sorted(task2)
    report = MatchReport(n_task2=len(names2))
    if not names1:
        return report
    if names2:
        a = np.stack([task1[n].ravel() for n in names1]).astype(np.float64)  # (N1, P)
        b = np.stack([task2[n].ravel() for n in names2]).astype(np.float64)  # (N2, P)
        corr = a @ b.T / a.shape[1]  # (N1, N2)
    else:
        corr = np.zeros((len(names1), 0))
    taken = set()
    for i in np.argsort(-corr.max(axis=1) if corr.size else np.zeros(len(names1)), kind="stable"):
        order = (
            [j for j in np.argsort(-corr[i], kind="stable") if j not in taken] if corr.size else []
        )
        if order and corr[i, order[0]] >= min_corr:
            report.matches[names1[i]] = (names2[order[0]], float(corr[i, order[0]]))
            taken.add(order[0])
        else:
            report.unmatched.append(names1[i])
    report.unmatched.sort()
    return report
