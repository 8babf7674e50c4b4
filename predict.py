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
status is 1 if any scan failed. The work is inference/predict_scans.py's; the files are
inference/scan_outputs.py's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from lascar_ref.config import show_bars
from lascar_ref.config.cli import add_progress_options
from lascar_ref.errors import CheckpointError, DataError
from lascar_ref.evaluation.postprocess_choice import runs_choice
from lascar_ref.inference.inputs import find_scans
from lascar_ref.inference.mesh import require_skimage
from lascar_ref.inference.overlay import require_matplotlib
from lascar_ref.inference.predict_scans import PredictOptions, load_members, predict_scans
from lascar_ref.inference.scan_outputs import write_summary
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
        predictors = load_members(a.ckpt, a.la_ckpt, device, a.monai_structure)
        postprocess = {} if a.no_postprocess else runs_choice(a.ckpt)
    except (DataError, CheckpointError, ValueError, ImportError) as e:
        print(f"predict.py: error: {e}", file=sys.stderr)
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    names = ", ".join(sorted({s for p in predictors for s in (p.use or p.structures)}))
    print(f"{len(scans)} scan(s), {len(predictors)} checkpoint(s) on {device}: {names}")
    opts = PredictOptions(
        a.mirror, a.sw_batch_size, a.flip_check, a.save_probs, a.save_uncertainty, a.figures,
        a.report, a.mesh, show_bars(a.progress),
    )  # fmt: skip
    rows, failures = predict_scans(scans, predictors, device, out, opts, postprocess)
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


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    sys.exit(main())
