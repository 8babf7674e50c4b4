"""Metrics time for one 384x256x40 case vs MONAI's HD + HD95 + symmetric ASD, same masks, same run.

    python bench/bench_metrics.py [--repeats 3]

Masks: an LA-like prediction and ground truth (bench_wall_mask.la_like_mask, the prediction
shifted by one voxel and eroded) at (0.625, 0.625, 2.5) mm. Ours:
lascar_ref.evaluation.metrics.case_metrics (Dice, HD, HD95, ASSD and challenge ASD in one call).
MONAI 1.6.1: compute_hausdorff_distance (twice:
max and 95th percentile) + compute_average_surface_distance(symmetric=True). Target <= 0.5x MONAI.
"""

from __future__ import annotations

import argparse
import platform

import numpy as np
import torch
from bench_wall_mask import SPACING, la_like_mask
from scipy import ndimage
from timing import best_of, ratio_text

from lascar_ref.evaluation.metrics import case_metrics


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(2)
    gt = la_like_mask()
    pred = ndimage.binary_erosion(np.roll(gt, 1, axis=0), iterations=1)
    from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance

    tp, tg = (torch.from_numpy(m)[None, None].float() for m in (pred, gt))

    def monai():
        return (
            compute_hausdorff_distance(tp, tg, spacing=SPACING).item(),
            compute_hausdorff_distance(tp, tg, percentile=95, spacing=SPACING).item(),
            compute_average_surface_distance(tp, tg, symmetric=True, spacing=SPACING).item(),
        )

    t_ours, ours = best_of(lambda: case_metrics(pred, gt, SPACING), a.repeats)
    t_monai, theirs = best_of(monai, a.repeats)
    print(f"# machine: {platform.machine()}, masks {gt.shape}, spacing {SPACING}")
    print(
        f"ours  (Dice, HD, HD95, ASSD, ASD): {t_ours * 1000:8.1f} ms  "
        f"HD {ours['hd']:.3f} HD95 {ours['hd95']:.3f} "
        f"ASSD {ours['assd']:.4f}"
    )
    print(
        f"MONAI (HD, HD95, ASSD):            {t_monai * 1000:8.1f} ms  "
        f"HD {theirs[0]:.3f} HD95 {theirs[1]:.3f} "
        f"ASSD {theirs[2]:.4f}"
    )
    print(ratio_text(t_ours, t_monai, "MONAI"))


if __name__ == "__main__":
    main()
