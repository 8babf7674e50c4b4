"""Segment new scans — paper §4.2 (inference); docs/design.md §6, §10.

  python predict.py --ckpt CKPT [CKPT ...] --in PATH [PATH ...] --out DIR
                    [--la-ckpt CKPT ...] [--mirror] [--save-probs] [--save-uncertainty]
                    [--figures] [--report] [--mesh] [--no-flip-check] [--strict]
                    [--device cpu|cuda]

CKPT: a lascar_ref checkpoint (stage{N}.pt), a runs folder (runs/full: every fold*/stage3.pt, a
five-fold ensemble), or a MONAI SwinUNETR state dict (--monai-structure says what it segments).
Several checkpoints form an ensemble: the mean of their probabilities. PATH: a .nii / .nii.gz
file, a folder of them (a Decathlon / nnU-Net imagesTs/: the _0000 suffix is dropped from the
output names), or a LAScarQS-layout folder (its enhanced.nii.gz images). No labels are
needed. Inference covers the whole resampled scan (never only the training crop). Writes, in each
scan's original geometry and header: {scan}_la.nii.gz (from Stage I/II checkpoints or --la-ckpt)
and {scan}_scar.nii.gz (Stage II/III) as uint8, optionally {scan}_{structure}_prob.nii.gz and
{scan}_{structure}_spread.nii.gz (the members' voxel-wise std), and summary.csv + summary.json
with LA and scar volume (ml), scar burden (% of the Eq. 6 wall band of the *predicted* LA), the
scar burden on the predicted LA's surface (the LAScarQS projection) and its Utah stage (I-IV,
"(qc flagged)" appended on a flagged scan; inference/scar_report.py), that burden in six
landmark-free regions (anterior, posterior, septal, lateral, roof, floor: each region's burden and
its share of all scar; inference/scar_regions.py), the members' mean pairwise
Dice, `input_check` (the scan against each checkpoint's training images: "passed", "flagged", or
"unchecked: ..." for a checkpoint that records none, such as MONAI weights;
inference/input_stats.py) and `qc`: the reasons not to trust a scan's numbers (a constant image,
a field of view or spacing no LGE scan of an LA has, an image unlike the training images, no LA
or an implausible one, scar far from it, disagreeing members or, for a structure one
checkpoint gives alone, disagreeing predictions under a flip of each axis: flip_dice_la /
flip_dice_scar, 4x that checkpoint's time, --no-flip-check skips it; inference/qc.py), empty
when none. --strict: any flag gives exit status 1. --figures (viz extra): one PNG per scan,
three slices through the predicted LA.
--report (viz extra): reports/{scan}.png, one page per scan: the slices, the scar map on the
predicted LA surface from the anterior, posterior, left, right and superior, the burdens, the
Utah stage, the regional burden and the quality flags (inference/report_page.py).
--mesh (mesh extra): {scan}_la_surface.vtk, the predicted LA surface in world mm (RAS) with the
projected scar and the region id per vertex (inference/mesh.py; no file for a scan without an
LA). A bad scan is reported in one line and skipped; the others are still written; the exit
status is 1 if any scan failed.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lascar_ref.config import show_bars
from lascar_ref.config.cli import add_progress_options
from lascar_ref.data import read_volume, write_volume
from lascar_ref.data.orientation import to_ras
from lascar_ref.errors import CheckpointError, DataError
from lascar_ref.evaluation.postprocess_choice import stored_choice
from lascar_ref.inference.inputs import expand_checkpoints, find_scans
from lascar_ref.inference.members import load_predictor
from lascar_ref.inference.mesh import la_mesh, require_skimage, write_vtk
from lascar_ref.inference.overlay import require_matplotlib, scan_figure
from lascar_ref.inference.postprocess import apply as apply_postprocessing
from lascar_ref.inference.qc import flip_flags, member_flags, output_flags
from lascar_ref.inference.report_page import report_page
from lascar_ref.inference.scar_report import REPORT_KEYS, utah_stage
from lascar_ref.inference.whole_scan import predict_scan, scan_summary, scan_surface
from lascar_ref.runtime.device import resolve_device


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--ckpt", nargs="+", required=True, help="checkpoints or runs folders (an ensemble)"
    )
    p.add_argument("--in", dest="inputs", nargs="+", required=True, help="scans, folders of scans")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--la-ckpt", nargs="+", default=[], help="Stage I/II checkpoints adding the LA")
    p.add_argument(
        "--mirror", action="store_true", help="mirroring test-time augmentation (8 flips)"
    )
    p.add_argument("--save-probs", action="store_true", help="also write float32 probability maps")
    p.add_argument(
        "--save-uncertainty",
        action="store_true",
        help="also write the members' voxel-wise std of each probability ({scan}_{structure}"
        "_spread.nii.gz)",
    )
    p.add_argument(
        "--no-postprocess",
        action="store_true",
        help="do not apply the postprocessing a runs folder chose on its folds "
        "(RUNS/RECIPE/postprocessing.json, eval.py --summary)",
    )
    p.add_argument(
        "--figures",
        action="store_true",
        help="one PNG per scan in OUT/figures: three slices through the predicted LA (viz extra)",
    )
    p.add_argument(
        "--mesh",
        action="store_true",
        help="{scan}_la_surface.vtk per scan: the predicted LA surface in world mm (RAS) with the "
        "projected scar and region per vertex, for ParaView / 3D Slicer / CemrgApp (mesh extra)",
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="one PNG page per scan in OUT/reports: slices, the scar map on the LA surface from "
        "five sides, burden, Utah stage, regions and quality flags (viz extra)",
    )
    p.add_argument(
        "--no-flip-check",
        dest="flip_check",
        action="store_false",
        help="skip the flip check: by default a structure that one checkpoint gives alone is "
        "also predicted with each axis flipped (4x its time) and flagged when the passes "
        "disagree (flip_dice_la / _scar)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit status 1 when any scan has a quality flag (the scans are still written)",
    )
    p.add_argument("--device", default="auto", help="cuda if available, else cpu (default: auto)")
    p.add_argument("--sw-batch-size", type=int, default=2, help="windows per batch (default: 2)")
    p.add_argument(
        "--monai-structure",
        choices=["la", "scar"],
        default="scar",
        help="what a MONAI SwinUNETR state dict segments (default: scar)",
    )
    add_progress_options(p)
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse(argv)
    try:
        if a.figures or a.report:
            require_matplotlib()
        if a.mesh:
            require_skimage()
        device = resolve_device(a.device)
        scans = find_scans(a.inputs)
        paths = expand_checkpoints(a.ckpt) + expand_checkpoints(a.la_ckpt)
        predictors = [load_predictor(p, device, a.monai_structure) for p in paths]
        for extra in predictors[len(paths) - len(expand_checkpoints(a.la_ckpt)) :]:
            if "la" not in extra.structures:  # --la-ckpt: contributes the LA only
                raise ValueError(f"--la-ckpt {extra.name}: segments {extra.structures}, not the LA")
            extra.use = ("la",)
        postprocess = {} if a.no_postprocess else runs_postprocessing(a.ckpt)
    except (DataError, CheckpointError, ValueError, ImportError) as e:
        print(f"predict.py: error: {e}", file=sys.stderr)
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    names = ", ".join(sorted({s for p in predictors for s in (p.use or p.structures)}))
    print(f"{len(scans)} scan(s), {len(predictors)} checkpoint(s) on {device}: {names}")
    rows, failures = [], []
    for name, path in tqdm(scans, desc="predict", unit="scan", disable=not show_bars(a.progress)):
        try:
            scan = read_volume(path)
            pred = predict_scan(scan, predictors, device, a.mirror, a.sw_batch_size, a.flip_check)
        except (DataError, ValueError) as e:
            failures.append(f"{path}: {e}" if str(path) not in str(e) else str(e))
            tqdm.write(f"error: {failures[-1]}")
            continue
        masks = apply_postprocessing({k: v > 0.5 for k, v in pred.probs.items()}, postprocess,
                                     scan.spacing_mm)  # fmt: skip
        images = {k: m.astype(np.uint8) for k, m in masks.items()}
        if a.save_probs:
            images.update({f"{k}_prob": v for k, v in pred.probs.items()})
        if a.save_uncertainty:
            images.update({f"{k}_spread": v for k, v in pred.spread.items()})
        for suffix, data in images.items():
            write_volume(out / f"{name}_{suffix}.nii.gz", data, scan.affine, scan.header)
        qc = pred.input_qc + output_flags(masks, scan.spacing_mm) + member_flags(pred.agreement)
        qc += flip_flags(pred.flip_agreement)
        surface = scan_surface(masks, scan.spacing_mm, scan.affine)  # summary and report
        rows.append(
            {
                "scan": name,
                "path": str(path),
                **(summary := scan_summary(masks, scan.spacing_mm, scan.affine, surface)),
                "utah_stage": utah_stage(summary["scar_surface_burden_pct"], bool(qc)),
                **{f"member_dice_{k}": pred.agreement.get(k, math.nan) for k in ("la", "scar")},
                **{f"flip_dice_{k}": pred.flip_agreement.get(k, math.nan) for k in ("la", "scar")},
                "input_check": pred.input_check,
                "qc": "; ".join(qc),
                "postprocess": "; ".join(f"{k}: {v}" for k, v in postprocess.items()),
            }
        )
        if qc:
            tqdm.write(f"qc: {name}: {'; '.join(qc)}")
        if a.figures:
            figure(out / "figures" / f"{name}.png", scan, masks, rows[-1])
        if a.report:
            report(out / "reports" / f"{name}.png", scan, masks, surface, rows[-1])
        if a.mesh and "la" in masks and masks["la"].any():
            mesh = la_mesh(masks["la"], masks.get("scar"), scan.affine, scan.spacing_mm)
            write_vtk(out / f"{name}_la_surface.vtk", mesh)
    write_summary(rows, out)
    flagged = [r["scan"] for r in rows if r["qc"]]
    print(
        f"wrote {len(rows)} scan(s) to {out}/ (summary.csv, summary.json); {len(flagged)} flagged"
    )
    if failures:
        print(f"{len(failures)} scan(s) failed:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    if a.strict and flagged:
        print(f"--strict: {len(flagged)} scan(s) flagged: {', '.join(flagged)}", file=sys.stderr)
        return 1
    return 0


def runs_postprocessing(ckpts: list[str]) -> dict[str, str]:
    """The postprocessing chosen on the folds (RUNS/RECIPE/postprocessing.json, written by eval.py
    --summary) of the runs folder(s) given as --ckpt; {} for checkpoint files. Two runs folders
    with different choices are refused."""
    choices = {str(p): stored_choice(Path(p)) for p in ckpts if Path(p).is_dir()}
    distinct = {json.dumps(c, sort_keys=True) for c in choices.values()}
    if len(distinct) > 1:
        raise ValueError(f"the runs folders chose different postprocessing: {choices}")
    chosen = next(iter(choices.values()), {})
    return {k: v for k, v in chosen.items() if v != "none"}


def figure(path: Path, scan, masks: dict, row: dict) -> Path:
    """Three orthogonal slices through the predicted LA in RAS orientation, the volumes and the
    qc in the title (inference/overlay.py)."""
    ras, spacing, _ = to_ras(scan.data, scan.affine, scan.spacing_mm)
    ras_masks = {k: to_ras(m, scan.affine, scan.spacing_mm)[0] for k, m in masks.items()}
    numbers = ", ".join(
        f"{label} {row[key]:.1f}{unit}"
        for label, key, unit in (
            ("LA", "la_volume_ml", " ml"),
            ("scar", "scar_volume_ml", " ml"),
            ("burden", "scar_burden_pct", "%"),
        )
        if not math.isnan(row[key])
    )
    title = f"{row['scan']}: {numbers}" + (f"\nqc: {row['qc']}" if row["qc"] else "")
    return scan_figure(ras.astype(np.float32), ras_masks, spacing, title, path)


def report(path: Path, scan, masks: dict, surface, row: dict) -> Path:
    """The scan's report page (inference/report_page.py): slices in RAS, the surface map
    (whole_scan.scan_surface, world mm through the scan's affine)."""
    ras, spacing, _ = to_ras(scan.data, scan.affine, scan.spacing_mm)
    ras_masks = {k: to_ras(m, scan.affine, scan.spacing_mm)[0] for k, m in masks.items()}
    return report_page(ras.astype(np.float32), ras_masks, spacing, surface, row, path)


def write_summary(rows: list[dict], out: Path) -> None:
    keys = ["scan", "path", "la_volume_ml", "scar_volume_ml", "scar_burden_pct"]
    keys += ["scar_surface_burden_pct", "utah_stage", *REPORT_KEYS[1:]]
    keys += ["member_dice_la", "member_dice_scar", "flip_dice_la", "flip_dice_scar"]
    keys += ["input_check", "qc", "postprocess"]
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    clean = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in rows
    ]
    (out / "summary.json").write_text(
        json.dumps(
            {
                "scans": clean,
                "burden_wall": "predicted LA, Eq. 6",
                "surface_burden": "predicted scar projected onto the predicted LA surface",
                "utah_stage": "Marrouche et al. 2014: I < 10%, II < 20%, III < 30%, IV >= 30%",
                "regions": "surface nodes by direction from the LA centroid in RAS, landmark-free:"
                " {region}_burden_pct = scar nodes / nodes of the region, {region}_share_pct ="
                " the region's scar nodes / all scar nodes (inference/scar_regions.py)",
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    sys.exit(main())
