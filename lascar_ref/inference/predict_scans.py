"""Segment new scans: the members, then each scan's maps, summary row, pictures and mesh — paper
§4.2 (inference); docs/design.md §6, §10, §13. predict.py parses its options and calls these.

`load_members` loads every --ckpt (an ensemble) and --la-ckpt (the LA only; refused when it
segments no LA). `predict_scans` runs each scan through whole_scan.predict_scan, applies the
postprocessing chosen on the folds, writes the maps (scan_outputs.py), builds the summary row
(volumes, burdens, Utah stage, regions, agreement, input check, quality flags) and, when asked,
the figure, the report page and the VTK mesh. A scan that cannot be read or predicted is one
line in `failures`; the others are still written.
Tests: tests/test_predict.py
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data import read_volume
from ..errors import DataError
from .inputs import expand_checkpoints
from .members import Predictor, load_predictor
from .mesh import la_mesh, write_vtk
from .postprocess import apply as apply_postprocessing
from .qc import flip_flags, member_flags, output_flags
from .scan_outputs import figure, report, write_maps
from .scar_report import utah_stage
from .whole_scan import predict_scan, scan_summary, scan_surface


@dataclass(frozen=True)
class PredictOptions:
    """What predict.py was asked for (its options of the same names)."""

    mirror: bool = False
    sw_batch_size: int = 2
    flip_check: bool = True
    save_probs: bool = False
    save_uncertainty: bool = False
    figures: bool = False
    report: bool = False
    mesh: bool = False
    bars: bool = False


def load_members(ckpts: list[str], la_ckpts: list[str], device, monai_structure: str):
    """The predictors of --ckpt (every structure they segment) and --la-ckpt (the LA only)."""
    main, extra = expand_checkpoints(ckpts), expand_checkpoints(la_ckpts)
    predictors = [load_predictor(p, device, monai_structure) for p in main + extra]
    for p in predictors[len(main) :]:
        if "la" not in p.structures:  # --la-ckpt: contributes the LA only
            raise ValueError(f"--la-ckpt {p.name}: segments {p.structures}, not the LA")
        p.use = ("la",)
    return predictors


def predict_scans(
    scans: list[tuple[str, Path]],
    predictors: list[Predictor],
    device,
    out: Path,
    opts: PredictOptions,
    postprocess: dict[str, str],
) -> tuple[list[dict], list[str]]:
    """Every scan (name, path) into OUT; returns (summary rows, failures: one line each)."""
    rows, failures = [], []
    for name, path in tqdm(scans, desc="predict", unit="scan", disable=not opts.bars):
        try:
            scan = read_volume(path)
            pred = predict_scan(
                scan, predictors, device, opts.mirror, opts.sw_batch_size, opts.flip_check
            )
        except (DataError, ValueError) as e:
            failures.append(f"{path}: {e}" if str(path) not in str(e) else str(e))
            tqdm.write(f"error: {failures[-1]}")
            continue
        masks = apply_postprocessing({k: v > 0.5 for k, v in pred.probs.items()}, postprocess,
                                     scan.spacing_mm)  # fmt: skip
        images = {k: m.astype(np.uint8) for k, m in masks.items()}
        if opts.save_probs:
            images.update({f"{k}_prob": v for k, v in pred.probs.items()})
        if opts.save_uncertainty:
            images.update({f"{k}_spread": v for k, v in pred.spread.items()})
        write_maps(out, name, scan, images)
        surface = scan_surface(masks, scan.spacing_mm, scan.affine)  # summary and report
        rows.append(row := summary_row(name, path, scan, masks, surface, pred, postprocess))
        if row["qc"]:
            tqdm.write(f"qc: {name}: {row['qc']}")
        has_la = "la" in masks and bool(masks["la"].any())
        mesh = None  # the --mesh surface, also the report's shaded surface where the extra exists
        if has_la and (opts.mesh or opts.report and mesh_available()):
            mesh = la_mesh(masks["la"], masks.get("scar"), scan.affine, scan.spacing_mm)
        if opts.figures:
            figure(out / "figures" / f"{name}.png", scan, masks, row)
        if opts.report:
            report(out / "reports" / f"{name}.png", scan, masks, surface, row, mesh)
        if opts.mesh and mesh is not None:
            write_vtk(out / f"{name}_la_surface.vtk", mesh)
    return rows, failures


def summary_row(name: str, path: Path, scan, masks: dict, surface, pred, postprocess: dict) -> dict:
    """One scan's row of summary.csv (scan_outputs.SUMMARY_KEYS); `surface`: scan_surface's map."""
    qc = pred.input_qc + output_flags(masks, scan.spacing_mm) + member_flags(pred.agreement)
    qc += flip_flags(pred.flip_agreement, pred.flip_reference)
    summary = scan_summary(masks, scan.spacing_mm, scan.affine, surface)
    return {
        "scan": name,
        "path": str(path),
        **summary,
        "utah_stage": utah_stage(summary["scar_surface_burden_pct"], bool(qc)),
        **{f"member_dice_{k}": pred.agreement.get(k, math.nan) for k in ("la", "scar")},
        **{f"flip_dice_{k}": pred.flip_agreement.get(k, math.nan) for k in ("la", "scar")},
        "input_check": pred.input_check,
        "qc": "; ".join(qc),
        "postprocess": "; ".join(f"{k}: {v}" for k, v in postprocess.items()),
    }


def mesh_available() -> bool:
    """Whether the mesh extra (scikit-image) is installed: the report draws a shaded mesh then."""
    try:
        import skimage.measure  # noqa: F401
    except ImportError:
        return False
    return True
