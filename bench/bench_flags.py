"""No anchor: how often the input and flip flags fire on in-distribution scans and on synthetic
negatives, and what the flagged scans' Dice is — docs/design.md §10 (new scans);
lascar_ref/inference/input_stats.py, lascar_ref/inference/qc.py.

  python bench/bench_flags.py --ckpt RUN/stage3.pt --la-ckpt RUN/stage2.pt --out DIR
                              [--n 12] [--seed 0] [--kinds KIND ...] [--time-full-size]

--seed 0 gave the scans the checks were designed on; --seed 1 and above are fresh negatives.
--kinds: only these kinds (default: all, in the order below); a kind's scans do not depend on
which other kinds run.

Scans, all at the checkpoint's phantom grid (its config's phantom_shape / phantom_spacing):
  in_distribution  N fresh phantoms of the generator the checkpoint was trained on (seeds the
                   training set never used: 10_000_000 + seed * 1000 + i), with their labels
  inverted         other fresh phantoms, intensity inverted (max - I: a dark-blood contrast)
  ct_like          the same anatomy with CT-like values (lung -800, fat -100, soft tissue and
                   blood 40, the vertebral body 400, noise sd 15): another modality
  blurred          phantoms blurred by a 4 mm Gaussian (a low-resolution or moving scan)
  noise            Rician noise only, no anatomy (no LA)
  abdomen          random ellipsoid "organs" in a body outline, no heart (no LA)
and two kinds the checks were not designed on:
  ghosting         fresh phantoms with motion (Nyquist-like) ghosting along the phase-encoding
                   axis (RAS Y after reorientation, anteroposterior): every other k-space line along
                   it shifted in phase by U(0.8, 1.6) rad, so a copy of the heart lies half a field
                   of view away; labels kept
  bssfp            the same anatomy in a bSSFP-like contrast without enhancement: blood bright
                   (1.0), myocardium and wall 0.3, scar and the confounders as the wall around
                   them, fat 0.8, lung 0.05, tissue 0.4; the phantoms' blur and Rician noise; labels
                   kept (its scar is invisible)
Flip flags are judged as predict.py judges them: against FLIP_REL x the checkpoint's own flip
agreement on its validation scans (its "flip_reference"; for a checkpoint written before training
recorded it, computed here from its fold's validation scans, the file unchanged), and, for
comparison, against the fixed thresholds ("fixed" columns).
--time-full-size: the seconds the flip check adds to one full-size phantom (576 x 576 x 44 at
0.625 x 0.625 x 2.5 mm), predict_scan with and without it, on this machine.
Each is predicted as predict.py does (whole scan, the flip check on), and scored where it has
labels (LA Dice of --la-ckpt's LA, scar Dice of --ckpt's scar). Prints a Markdown table per kind:
n, the share flagged by the input check, by the flip check (LA, scar), by any qc flag, and mean
Dice; then LA and scar Dice of flagged against unflagged scans among those with labels. Writes
DIR/flags.json with every scan's row. The thresholds were set before this ran; it measures them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lascar_ref.data import make_phantom  # noqa: E402
from lascar_ref.data.nifti_io import Volume  # noqa: E402
from lascar_ref.data.phantom import affine_for  # noqa: E402
from lascar_ref.data.phantom_anatomy import make_anatomy  # noqa: E402
from lascar_ref.evaluation.metrics import dice  # noqa: E402
from lascar_ref.inference.members import load_predictor  # noqa: E402
from lascar_ref.inference.qc import flip_flags, output_flags  # noqa: E402
from lascar_ref.inference.whole_scan import predict_scan  # noqa: E402
from lascar_ref.training.flip_reference import reference_for_checkpoint  # noqa: E402

KINDS = (
    "in_distribution",
    "inverted",
    "ct_like",
    "blurred",
    "noise",
    "abdomen",
    "ghosting",
    "bssfp",
)


def fresh_seed(seed: int, kind: str, i: int) -> int:
    return 10_000_000 + seed * 1000 + KINDS.index(kind) * 100 + i


def ct_like(seed: int, shape, spacing) -> np.ndarray:
    """The anatomy of phantom `seed` in CT-like values (module docstring)."""
    a = make_anatomy(np.random.default_rng(seed), shape, spacing)
    img = np.full(shape, 40.0, dtype=np.float32)
    img[a["lung"]] = -800.0
    img[a["fat"]] = -100.0
    img[a["enhancing_kind"] == 4] = 400.0  # the vertebral body
    rng = np.random.default_rng(seed + 1)
    return img + rng.normal(0, 15, shape).astype(np.float32) + 1024.0


def abdomen(seed: int, shape, spacing) -> np.ndarray:
    """A body outline with 6-10 random ellipsoid organs of random intensity, plus noise."""
    rng = np.random.default_rng(seed)
    g = np.stack(
        np.meshgrid(
            *[(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing)], indexing="ij"
        )
    )
    half = np.array([n * s / 2 for n, s in zip(shape, spacing)])
    body = ((g[0] / (0.9 * half[0])) ** 2 + (g[1] / (0.8 * half[1])) ** 2) <= 1
    img = np.where(body, 0.5, 0.05).astype(np.float32)
    for _ in range(int(rng.integers(6, 11))):
        c = rng.uniform(-0.5, 0.5, 3) * half
        r = rng.uniform(8, 30, 3)
        inside = sum(((g[k] - c[k]) / r[k]) ** 2 for k in range(3)) <= 1
        img[inside & body] = rng.uniform(0.2, 1.2)
    img = ndimage.gaussian_filter(img, [0.8 / s for s in spacing])
    return np.hypot(img + rng.normal(0, 0.04, shape), rng.normal(0, 0.04, shape)).astype(np.float32)


def ghosting(image: np.ndarray, seed: int) -> np.ndarray:
    """Motion ghosting along the phantom's axis 0 (anteroposterior: the phase-encoding axis of
    an axial LGE stack): every other k-space line shifted in phase (module docstring)."""
    phase = np.random.default_rng(seed).uniform(0.8, 1.6)
    k = np.fft.fft(image.astype(np.float64), axis=0)
    k[1::2] *= np.exp(1j * phase)
    return np.abs(np.fft.ifft(k, axis=0)).astype(np.float32)


def bssfp(seed: int, shape, spacing) -> np.ndarray:
    """The anatomy of phantom `seed` in a bSSFP-like contrast without enhancement."""
    a = make_anatomy(np.random.default_rng(seed), shape, spacing)
    img = np.full(shape, 0.4, dtype=np.float32)
    img[a["lung"]] = 0.05
    img[a["fat"]] = 0.8
    img[a["myo"] | a["wall"] | a["enhancing"] | a["scar"]] = 0.3
    img[a["blood"]] = 1.0
    img = ndimage.gaussian_filter(img, [0.6 / spacing[0], 0.6 / spacing[1], 1.0])
    rng = np.random.default_rng(seed + 1)
    sigma = 0.04
    img = np.hypot(img + rng.normal(0, sigma, shape), rng.normal(0, sigma, shape))
    return (img * 400).astype(np.float32)


def make_scan(kind: str, seed: int, shape, spacing) -> tuple[np.ndarray, dict]:
    """(image (X, Y, Z) float32, labels {"la", "scar"} bool or {} without anatomy)."""
    if kind in ("noise", "abdomen"):
        if kind == "noise":
            rng = np.random.default_rng(seed)
            sigma = 100.0
            noise = np.hypot(rng.normal(200, sigma, shape), rng.normal(0, sigma, shape))
            return noise.astype(np.float32), {}
        return abdomen(seed, shape, spacing) * 400, {}
    p = make_phantom(seed, shape, spacing)
    labels = {"la": p["la"] > 0, "scar": p["scar"] > 0}
    image = p["image"].astype(np.float32)
    if kind == "inverted":
        image = image.max() - image
    elif kind == "ct_like":
        image = ct_like(seed, shape, spacing)
    elif kind == "blurred":
        image = ndimage.gaussian_filter(image, [4.0 / s for s in spacing])
    elif kind == "ghosting":
        image = ghosting(image, seed)
    elif kind == "bssfp":
        image = bssfp(seed, shape, spacing)
    return image, labels


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ckpt", required=True, help="the scar checkpoint (stage3.pt)")
    ap.add_argument("--la-ckpt", required=True, help="the LA checkpoint (stage2.pt)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=12, help="scans per kind (default: 12)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    ap.add_argument("--time-full-size", action="store_true")
    a = ap.parse_args(argv)
    kinds = [k for k in KINDS if k in a.kinds]
    torch.set_grad_enabled(False)
    device = torch.device("cpu")
    scar, la = load_predictor(a.ckpt, device), load_predictor(a.la_ckpt, device)
    scar.use, la.use = ("scar",), ("la",)
    for p in (scar, la):
        if p.flip_reference is None:  # older checkpoints: from their validation scans
            p.flip_reference = reference_for_checkpoint(Path(p.name), device, lambda *_: None)
        print(f"{p.name}: flip reference {p.flip_reference}", file=sys.stderr)
    cfg = torch.load(a.ckpt, map_location="cpu", weights_only=True)["config"]
    shape, spacing = tuple(cfg["phantom_shape"]), tuple(cfg["phantom_spacing"])
    affine = affine_for(shape, spacing)
    rows, t0 = [], time.perf_counter()
    for kind in kinds:
        for i in range(a.n):
            seed = fresh_seed(a.seed, kind, i)
            image, labels = make_scan(kind, seed, shape, spacing)
            scan = Volume(Path(f"{kind}_{i}"), image, affine, None, spacing)
            pred = predict_scan(scan, [scar, la], device, flip_check=True)
            masks = {k: v > 0.5 for k, v in pred.probs.items()}
            rows.append(
                {
                    "kind": kind,
                    "seed": seed,
                    "input_check": pred.input_check,
                    "input_flags": [f for f in pred.input_qc if "training images" in f],
                    "flip_dice_la": pred.flip_agreement.get("la", math.nan),
                    "flip_dice_scar": pred.flip_agreement.get("scar", math.nan),
                    "flip_flags": flip_flags(pred.flip_agreement, pred.flip_reference),
                    "flip_flags_fixed": flip_flags(pred.flip_agreement),
                    "output_flags": output_flags(masks, spacing),
                    "qc": pred.input_qc
                    + output_flags(masks, spacing)
                    + flip_flags(pred.flip_agreement, pred.flip_reference),
                    **{
                        f"dice_{k}": dice(masks[k], labels[k]) if labels else math.nan
                        for k in ("la", "scar")
                    },
                }
            )
        print(f"{kind}: {a.n} scans, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    clean = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in rows
    ]
    (out / "flags.json").write_text(
        json.dumps({"ckpt": a.ckpt, "la_ckpt": a.la_ckpt, "n": a.n, "rows": clean}, indent=1)
    )
    print(table(rows))
    if a.time_full_size:
        print(full_size_timing(scar, la, device))
    return 0


def full_size_timing(scar, la, device) -> str:
    """Seconds of predict_scan on one full-size phantom with and without the flip check."""
    shape, spacing = (576, 576, 44), (0.625, 0.625, 2.5)
    image = make_phantom(fresh_seed(0, "in_distribution", 99), shape, spacing)["image"]
    scan = Volume(Path("full_size"), image.astype(np.float32), affine_for(shape, spacing), None,
                  spacing)  # fmt: skip
    took = {}
    for check in (False, True):
        t0 = time.perf_counter()
        predict_scan(scan, [scar, la], device, flip_check=check)
        took[check] = time.perf_counter() - t0
    return (
        f"full-size scan {shape} at {spacing} mm, {torch.get_num_threads()} threads: "
        f"{took[False]:.0f} s without the flip check, {took[True]:.0f} s with it "
        f"(+{took[True] - took[False]:.0f} s)"
    )


def share(rows, test) -> str:
    k = sum(bool(test(r)) for r in rows)
    return f"{k}/{len(rows)}"


def mean_of(rows, key) -> str:
    v = [r[key] for r in rows if not math.isnan(r[key])]
    return f"{np.mean(v):.2f} (n={len(v)})" if v else "-"


def median(values) -> float:
    v = [x for x in values if not math.isnan(x)]
    return float(np.median(v)) if v else math.nan


def table(rows) -> str:
    head = ["scans", "n", "input check flagged", "output flag", "flip flag LA", "flip flag scar"]
    head += ["flip flag (fixed) LA", "flip flag (fixed) scar", "any qc flag"]
    head += ["LA Dice", "scar Dice", "flip Dice LA, median", "flip Dice scar, median"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind in (k for k in KINDS if any(r["kind"] == k for r in rows)):
        rs = [r for r in rows if r["kind"] == kind]
        med = {k: median([r[k] for r in rs]) for k in ("flip_dice_la", "flip_dice_scar")}
        lines.append(
            f"| {kind} | {len(rs)} | {share(rs, lambda r: r['input_flags'])} | "
            f"{share(rs, lambda r: r['output_flags'])} | "
            f"{share(rs, lambda r: any('on la' in f for f in r['flip_flags']))} | "
            f"{share(rs, lambda r: any('on scar' in f for f in r['flip_flags']))} | "
            f"{share(rs, lambda r: any('on la' in f for f in r['flip_flags_fixed']))} | "
            f"{share(rs, lambda r: any('on scar' in f for f in r['flip_flags_fixed']))} | "
            f"{share(rs, lambda r: r['qc'])} | {mean_of(rs, 'dice_la')} | "
            f"{mean_of(rs, 'dice_scar')} | "
            f"{med['flip_dice_la']:.2f} | {med['flip_dice_scar']:.2f} |"
        )
    labelled = [r for r in rows if not math.isnan(r["dice_la"])]
    lines += ["", "| scans with labels | n | LA Dice | scar Dice |", "|---|---|---|---|"]
    for name, test in (
        ("input check flagged", lambda r: r["input_flags"]),
        ("input check passed", lambda r: not r["input_flags"]),
        ("any qc flag", lambda r: r["qc"]),
        ("no qc flag", lambda r: not r["qc"]),
    ):
        rs = [r for r in labelled if test(r)]
        lines.append(
            f"| {name} | {len(rs)} | {mean_of(rs, 'dice_la')} | {mean_of(rs, 'dice_scar')} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
