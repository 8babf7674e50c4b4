"""Evaluation metrics — paper §4.2 (Dsc, HD, ASD) and the LAScarQS challenge; docs/design.md §6.

On binary masks, per case and structure, in mm with the case's voxel spacing:
  border(M) = M minus its 6-connected erosion; d_AB = distances from border(A) voxels to the
  nearest border(B) voxel (voxel centres, exact EDT on the union bounding box)
  Dice  = 2|A n B| / (|A| + |B|)
  HD    = max(max d_AB, max d_BA)                (challenge definition)
  HD95  = max(p95 d_AB, p95 d_BA)                (MONAI convention, linear percentile)
  ASSD  = (sum d_AB + sum d_BA) / (n_A + n_B)    (MONAI symmetric ASD)
  ASD   = (mean d_AB + mean d_BA) / 2            (LAScarQS script, medpy 0.4: "asd_challenge")
Both masks empty: Dice 1, distances 0. One empty: Dice 0, distances NaN, `undefined` True.
Summaries: mean +- sample std over defined cases, the undefined count and a penalised mean with
NaN replaced by the image diagonal in mm (`penalised`: the value every table cell averages,
docs/design.md §6). Scar burden = |scar n wall| / |wall| (Eq. 6 band).
Tests: tests/test_metrics.py; benchmark: bench/bench_metrics.py
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

DISTANCES = ("hd", "hd95", "assd", "asd")


def border(mask: np.ndarray) -> np.ndarray:
    """Voxels of `mask` with a 6-neighbour outside it (the volume edge counts as outside)."""
    return mask & ~ndimage.binary_erosion(
        mask, structure=ndimage.generate_binary_structure(mask.ndim, 1)
    )


def _directed(a_border: np.ndarray, b_border: np.ndarray, spacing) -> np.ndarray:
    """Distances (mm) from each border voxel of A to the nearest border voxel of B."""
    return ndimage.distance_transform_edt(~b_border, sampling=spacing)[a_border]


def surface_distances(a: np.ndarray, b: np.ndarray, spacing) -> tuple[np.ndarray, np.ndarray]:
    """(d_AB, d_BA) for non-empty masks, computed on their union bounding box plus one voxel."""
    union = np.nonzero(a | b)
    box = tuple(slice(max(int(i.min()) - 1, 0), int(i.max()) + 2) for i in union)
    ab, bb = border(a)[box], border(b)[box]
    return _directed(ab, bb, spacing), _directed(bb, ab, spacing)


def case_metrics(pred: np.ndarray, gt: np.ndarray, spacing) -> dict[str, float]:
    """Dice, HD, HD95, ASSD, ASD (challenge) and `undefined` for one structure of one case."""
    pred, gt = np.asarray(pred) > 0, np.asarray(gt) > 0
    n_p, n_g = int(pred.sum()), int(gt.sum())
    if n_p == 0 and n_g == 0:
        return {"dice": 1.0, "hd": 0.0, "hd95": 0.0, "assd": 0.0, "asd": 0.0, "undefined": False}
    dice = 2.0 * int((pred & gt).sum()) / (n_p + n_g)
    if n_p == 0 or n_g == 0:
        return {"dice": dice, **{k: math.nan for k in DISTANCES}, "undefined": True}
    d_pg, d_gp = surface_distances(pred, gt, spacing)
    return {
        "dice": dice,
        "hd": float(max(d_pg.max(), d_gp.max())),
        "hd95": float(max(np.percentile(d_pg, 95), np.percentile(d_gp, 95))),
        "assd": float((d_pg.sum() + d_gp.sum()) / (d_pg.size + d_gp.size)),
        "asd": float((d_pg.mean() + d_gp.mean()) / 2),
        "undefined": False,
    }


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two binary volumes alone (1.0 when both are empty), as case_metrics computes it."""
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def scar_burden(scar: np.ndarray, wall: np.ndarray) -> float:
    """|scar n wall| / |wall| (NaN for an empty wall)."""
    w = np.asarray(wall) > 0
    return float((np.asarray(scar) > 0)[w].sum() / w.sum()) if w.any() else math.nan


def summarize(values: list[float], diagonal_mm: list[float] | None = None) -> dict[str, float]:
    """mean, sample std (ddof 1) over defined values, n, undefined count, penalised mean
    (NaN -> diagonal)."""
    v = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(v)
    out = {
        "mean": float(v[ok].mean()) if ok.any() else math.nan,
        "std": float(v[ok].std(ddof=1)) if ok.sum() > 1 else math.nan,
        "n": int(ok.sum()),
        "undefined": int((~ok).sum()),
    }
    if diagonal_mm is not None:
        out["penalised_mean"] = (
            float(np.where(ok, v, np.asarray(diagonal_mm, dtype=np.float64)).mean())
            if v.size
            else math.nan
        )
    return out


def penalised(row: dict, metric: str) -> float:
    """A case row's `metric`, an undefined distance (one mask empty) replaced by the row's
    diagonal_mm: the penalty of every table cell (docs/design.md §6). Dice and defined distances
    are returned as they are."""
    value = float(row[metric])
    if metric in DISTANCES and math.isnan(value):
        return float(row["diagonal_mm"])
    return value


def undefined(row: dict, metric: str) -> bool:
    """Whether a case row's `metric` has no value that could be penalised: NaN in a metric that
    is not a distance (surface Dice of an empty ground-truth LA, surface sensitivity without
    ground-truth scar, specificity when every node is scar). Such a case is left out of that
    metric's cells and comparisons, counted and named as undefined, never penalised; each of
    these depends on the ground truth only, so every row of a table leaves out the same cases."""
    return metric not in DISTANCES and math.isnan(float(row[metric]))


def diagonal_mm(shape, spacing) -> float:
    """Length of the image diagonal in mm (the penalty for an undefined distance): longer than
    any distance between two voxel centres of the image, so never better than a real distance."""
    return float(math.sqrt(sum((n * s) ** 2 for n, s in zip(shape, spacing))))
