"""Is a new scan like the images a checkpoint was trained on? — docs/design.md §10 (new scans).

A checkpoint records statistics of its training images (`reference`, written by training as the
checkpoint's "input_stats"); predict.py computes the same features on a new scan and flags one far
outside them (`ood_flags`), so that an image that is not an LGE MRI of the LA (another contrast,
another organ, noise) does not receive confident numbers. Features of a volume (X, Y, Z) as the
network sees it: resampled to the checkpoint's spacing, its training-size centre crop z-scored
(preprocessing's normalisation), so its mean is 0 and its std 1 by construction and what differs
is the shape of the distribution and its texture. Only the voxels of the scan count, not the
padding of a scan smaller than the crop (`content`):
  q01 ... q99   the 1st, 5th, 25th, 50th, 75th, 95th, 99th percentiles of the z-scored intensity
  rho_x/y/z     the lag-1 autocorrelation along each axis, mean(v[i] v[i+1]) over the z-scored
                volume: ~0 for white noise, near 1 for an image smooth at the voxel scale
  tex_x/y/z     log(1 - rho) along each axis (1 - rho floored at 1e-6): the same texture on a
                scale that does not saturate, so that a blurred scan (rho 0.99 against the
                training's ~0.9, within Z_FLAG floored sds of rho) lies far out (log 0.01
                against log 0.1). Checkpoints written before tex_* existed are checked on the
                features they record.
Reference: per feature the mean, sd, min and max over the training images (their count n).
Flag: z = (f - mean) / max(sd, SD_FLOOR) beyond Z_FLAG for any feature, the worst one named. The
floor keeps a handful of training images with nearly equal values (phantoms: sd ~0.01) from
flagging ordinary variation; SD_FLOOR and Z_FLAG were set before measuring, and their flag rates
on in-distribution scans and on synthetic negatives are in bench/README.md ("Out-of-distribution
and flip flags"). A checkpoint without "input_stats" (older files, MONAI weights) is reported as
unchecked, never as passed. Measured limit of rho alone: a blurred scan passed (the training
crops' autocorrelations are ~0.9, and 1.0 lies within Z_FLAG floored sds); tex_* is its
replacement, set before its flag rates were measured.
Tests: tests/test_input_stats.py
"""

from __future__ import annotations

import math

import numpy as np

from ..data.preprocess import crop_slices

QUANTILES = (1, 5, 25, 50, 75, 95, 99)
FEATURES = (
    tuple(f"q{q:02d}" for q in QUANTILES)
    + ("rho_x", "rho_y", "rho_z")
    + ("tex_x", "tex_y", "tex_z")
)
TEX_FLOOR = 1e-6  # 1 - rho floored before the log: a constant direction stays finite
SD_FLOOR = 0.1  # z-score units (quantiles) and autocorrelation units (rho)
Z_FLAG = 6.0  # floored sds from the training mean


def content(crop: np.ndarray, starts, full_shape) -> np.ndarray:
    """The voxels of a training-size crop (X, Y, Z) that hold the scan, not its padding
    (`starts`: preprocess.crop_or_pad's, `full_shape`: the resampled scan's)."""
    return crop[crop_slices(starts, full_shape, crop.shape)[1]]


def features(volume: np.ndarray) -> dict[str, float]:
    """The FEATURES of a volume (X, Y, Z), z-scored here (a constant volume: all NaN)."""
    v = np.asarray(volume, dtype=np.float64)
    sd = float(v.std())
    if not sd > 0:
        return dict.fromkeys(FEATURES, math.nan)
    v = (v - v.mean()) / sd
    out = {f"q{q:02d}": float(x) for q, x in zip(QUANTILES, np.percentile(v, QUANTILES))}
    for axis, name in enumerate("xyz"):
        n = v.shape[axis]
        if n < 2:
            out[f"rho_{name}"] = math.nan
            continue
        a, b = np.take(v, range(n - 1), axis=axis), np.take(v, range(1, n), axis=axis)
        out[f"rho_{name}"] = float(np.mean(a * b))
    for name in "xyz":
        rho = out[f"rho_{name}"]
        out[f"tex_{name}"] = math.nan if math.isnan(rho) else math.log(max(1 - rho, TEX_FLOOR))
    return out


def reference(volumes) -> dict:
    """{"n": count, "features": {name: {"mean", "sd", "min", "max"}}} over the volumes' features
    (floats only: a checkpoint stores it under weights_only)."""
    table = [features(v) for v in volumes]
    out = {}
    for name in FEATURES:
        x = np.array([t[name] for t in table], dtype=np.float64)
        x = x[np.isfinite(x)]
        out[name] = {
            "mean": float(x.mean()) if x.size else math.nan,
            "sd": float(x.std(ddof=1)) if x.size > 1 else 0.0,
            "min": float(x.min()) if x.size else math.nan,
            "max": float(x.max()) if x.size else math.nan,
        }
    return {"n": len(table), "features": out}


def z_scores(feats: dict[str, float], ref: dict) -> dict[str, float]:
    """(f - mean) / max(sd, SD_FLOOR) of each feature against the reference."""
    return {
        name: (feats[name] - r["mean"]) / max(r["sd"], SD_FLOOR)
        for name, r in ref["features"].items()
        if name in feats
    }


def ood_flags(feats: dict[str, float], ref: dict) -> list[str]:
    """One flag naming the worst feature when any |z| > Z_FLAG, or the first feature that is
    undefined (NaN) here where the training images had values; else []."""
    ref_features = ref["features"]
    missing = [
        n
        for n, r in ref_features.items()
        if math.isnan(feats.get(n, math.nan)) and not math.isnan(r["mean"])
    ]
    if missing:
        return [f"input unlike the training images ({missing[0]} undefined)"]
    z = {n: v for n, v in z_scores(feats, ref).items() if not math.isnan(v)}
    worst = max(z, key=lambda n: abs(z[n]), default=None)
    if worst is None or abs(z[worst]) <= Z_FLAG:
        return []
    r = ref_features[worst]
    return [
        f"input unlike the training images ({worst} {feats[worst]:.2f}, training "
        f"{r['mean']:.2f} ± {r['sd']:.2f} over {ref['n']}; z = {z[worst]:+.0f})"
    ]
