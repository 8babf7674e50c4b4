"""How hard a scan is: the realism statistics of phantoms and real LGE scans — docs/design.md §7.

One definition, used by `python -m lascar_ref.data realism DIR` and the phantom tests:
- the image is z-scored over the whole volume;
- core = LA voxels more than 3 mm inside the LA surface, ring = non-LA voxels 2.5-10 mm outside
  it (Euclidean distance transforms in mm between voxel centres, scipy EDT with the spacing);
- CNR = (mean(core) - mean(ring)) / std(ring);
- threshold Dice = the best Dice of (image > t) against the LA over t in [-2, 5] in steps of
  0.05, inside the LA's bounding box grown by 20 mm (clipped to the volume);
- LA volume in ml; scar fraction of the volume; scar inside / outside the Eq. 6 wall band
  (losses/wall_mask.py, delta_in = delta_out = 2 mm) as fractions of the scar label.
Tests: tests/test_data_realism.py
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..losses.wall_mask import wall_mask

CORE_MM = 3.0
RING_MM = (2.5, 10.0)
BOX_MARGIN_MM = 20.0
THRESHOLDS = np.round(np.arange(-2.0, 5.0 + 1e-9, 0.05), 2)  # 141 thresholds


def zscore(image: np.ndarray) -> np.ndarray:
    """The image z-scored over the whole volume (float64)."""
    x = np.asarray(image, dtype=np.float64)
    return (x - x.mean()) / (x.std() + 1e-12)


def cnr(image: np.ndarray, la: np.ndarray, spacing) -> float:
    """(mean(core) - mean(ring)) / std(ring) of the z-scored image (module docstring)."""
    la = np.asarray(la) > 0
    z = zscore(image)
    d_in = ndimage.distance_transform_edt(la, sampling=spacing)
    d_out = ndimage.distance_transform_edt(~la, sampling=spacing)
    core = la & (d_in > CORE_MM)
    ring = ~la & (d_out >= RING_MM[0]) & (d_out <= RING_MM[1])
    if not core.any() or not ring.any():
        return math.nan
    return float((z[core].mean() - z[ring].mean()) / (z[ring].std() + 1e-12))


def la_box(la: np.ndarray, spacing, margin_mm: float = BOX_MARGIN_MM) -> tuple[slice, ...]:
    """The LA's bounding box grown by `margin_mm` on every side, clipped to the volume."""
    idx = np.nonzero(la)
    out = []
    for axis, s in enumerate(spacing):
        m = int(math.ceil(margin_mm / s))
        lo, hi = int(idx[axis].min()) - m, int(idx[axis].max()) + m + 1
        out.append(slice(max(lo, 0), min(hi, la.shape[axis])))
    return tuple(out)


def threshold_dice(image: np.ndarray, la: np.ndarray, spacing) -> tuple[float, float]:
    """(best Dice of z > t against the LA inside la_box, the best t) over THRESHOLDS."""
    la = np.asarray(la) > 0
    box = la_box(la, spacing)
    z, g = zscore(image)[box].ravel(), la[box].ravel()
    all_sorted, la_sorted = np.sort(z), np.sort(z[g])
    above = z.size - np.searchsorted(all_sorted, THRESHOLDS, side="right")  # #(z > t)
    hits = la_sorted.size - np.searchsorted(la_sorted, THRESHOLDS, side="right")  # #(z > t, LA)
    dice = 2 * hits / (above + la_sorted.size)
    best = int(np.argmax(dice))
    return float(dice[best]), float(THRESHOLDS[best])


def scan_stats(image, la, spacing, scar=None) -> dict[str, float]:
    """Every realism statistic of one scan (module docstring); scar entries are NaN without scar."""
    la = np.asarray(la) > 0
    dice, t = threshold_dice(image, la, spacing)
    stats = {
        "cnr": cnr(image, la, spacing),
        "threshold_dice": dice,
        "best_threshold": t,
        "la_ml": float(la.sum() * np.prod(spacing) / 1000.0),
        "scar_fraction": math.nan,
        "scar_in_wall": math.nan,
        "scar_outside_wall": math.nan,
    }
    if scar is not None:
        scar = np.asarray(scar) > 0
        band = wall_mask(la, spacing)
        n = int(scar.sum())
        stats["scar_fraction"] = n / scar.size
        stats["scar_in_wall"] = float((scar & band).sum() / n) if n else math.nan
        stats["scar_outside_wall"] = float((scar & ~band).sum() / n) if n else math.nan
    return stats


COLUMNS = (
    ("cnr", "CNR", "{:.2f}"),
    ("threshold_dice", "thr. Dice", "{:.2f}"),
    ("la_ml", "LA ml", "{:.0f}"),
    ("scar_fraction", "scar %vol", "{:.2%}"),
    ("scar_in_wall", "scar in wall", "{:.0%}"),
    ("scar_outside_wall", "scar outside", "{:.0%}"),
)


def summary_line(rows: list[dict[str, float]], key: str, fmt: str) -> str:
    """median (min - max) of one statistic over scans, NaNs left out ("-" if none)."""
    values = np.array([r[key] for r in rows], dtype=float)
    values = values[~np.isnan(values)]
    if not values.size:
        return "-"
    f = fmt.format
    return f"{f(np.median(values))} ({f(values.min())} - {f(values.max())})"


def dataset_stats(
    root: str | Path, progress: bool = True, labels: str | None = None
) -> list[tuple[str, dict[str, float]]]:
    """(case name, scan_stats) for every LA + scar scan, else every LA-only scan, of a dataset in
    any layout (dataset.py; `labels`: a --labels mapping for a label map)."""
    from .dataset import open_dataset
    from .input_checks import load_case

    ds = open_dataset(root, labels)
    cases = ds.cases[1 if ds.has_task(1) else 2]
    if progress:
        from tqdm import tqdm

        cases = tqdm(cases, desc="realism", unit="scan", leave=False)
    out = []
    for case in cases:
        image, la, scar = load_case(case)
        stats = scan_stats(
            image.data, la.data, image.spacing_mm, None if scar is None else scar.data
        )
        out.append((case.name, stats))
    return out


def report(named: list[tuple[str, dict[str, float]]]) -> list[str]:
    """The per-scan table and the median (min - max) line, as printed by the command."""
    head = f"{'scan':<16}" + "".join(f"{label:>14}" for _, label, _ in COLUMNS)
    lines = [head]
    for name, s in named:
        cells = "".join(
            f"{'-' if math.isnan(s[k]) else fmt.format(s[k]):>14}" for k, _, fmt in COLUMNS
        )
        lines.append(f"{name:<16}{cells}")
    rows = [s for _, s in named]
    lines.append(f"median (min - max) over {len(rows)} scans:")
    lines += [f"  {label:<13} {summary_line(rows, k, fmt)}" for k, label, fmt in COLUMNS]
    return lines
