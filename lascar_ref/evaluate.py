"""Evaluation of a checkpoint on a fold's validation cases — paper §4.2-4.3 (Table 2);
docs/design.md §5-§6.

For each case: sliding-window probabilities on the preprocessed volume, predictions written as
uint8 NIfTI in the case's original geometry and header (crop undone, probabilities resampled
linearly, threshold 0.5), and metrics per structure (Dice, HD, HD95, ASSD, challenge ASD) on the
original grid (default, as the challenge) or the preprocessed grid, plus scar burden
|scar n wall| / |wall| (Eq. 6 band of the ground-truth LA) for prediction and ground truth.
Writes metrics.csv and metrics.json; `table2` renders the paper's Table 2 layout.
Tests: tests/test_eval.py
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .config import TrainConfig
from .data import read_volume, write_volume
from .data.preprocess import to_original_grid
from .inference import sliding_window_probs
from .losses import wall_mask
from .metrics import DISTANCES, case_metrics, diagonal_mm, scar_burden, summarize
from .runtime import resolve_amp
from .stage_data import fold_cases
from .stage_table import StageSpec, predict_logits

TITLES = {"la": "LA cavity segmentation", "scar": "LA scar segmentation"}


def evaluate(
    model,
    cfg: TrainConfig,
    spec: StageSpec,
    device: torch.device,
    out: Path,
    task: int,
    grid: str = "original",
    cases: list[str] | None = None,
    mirror: bool = False,
) -> list[dict]:
    """Predict, write and score the validation cases of `task` in cfg.fold; one row per case and
    structure. Table 2 passes task 1 for every stage,
    so its rows share their cases (docs/design.md §6)."""
    _, val = fold_cases(cfg, task, say=lambda *_: None)
    if cases:
        missing = sorted(set(cases) - {p.name for p in val})
        if missing:
            raise ValueError(
                f"cases {missing} are not validation cases of fold {cfg.fold} "
                f"(available: {[p.name for p in val]})"
            )
        val = [p for p in val if p.name in cases]
    amp = resolve_amp(cfg.amp, device)
    predict = predict_logits(model.eval(), spec)
    rows = []
    for p in tqdm(val, desc="evaluate", unit="case", disable=not cfg.progress):
        image = torch.from_numpy(np.array(p.image, dtype=np.float32))[None, None].to(device)
        with (
            torch.no_grad(),
            torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None),
        ):
            probs = (
                sliding_window_probs(
                    image,
                    predict,
                    cfg.patch,
                    cfg.overlap,
                    cfg.sw_batch_size,
                    mirror=mirror,
                    progress=False,
                )[0]
                .float()
                .cpu()
                .numpy()
            )
        raw_image = read_volume(p.meta["source"]["image"], check_finite=False)
        if grid == "original":  # ground truth on the raw grid, read once per case
            raw = {
                name: read_volume(p.meta["source"][name], check_finite=False).data > 0
                for name in {"la", *spec.outputs}
            }
            raw_wall = (
                wall_mask(raw["la"], raw_image.spacing_mm, cfg.delta_in_mm, cfg.delta_out_mm)
                if "scar" in raw
                else None
            )
        for k, name in enumerate(spec.outputs):
            original = to_original_grid(probs[k], p.meta) > 0.5
            write_volume(
                out / "predictions" / f"{p.name.replace('/', '_')}_{name}.nii.gz",
                original.astype(np.uint8),
                raw_image.affine,
                raw_image.header,
            )
            if grid == "original":
                pred, gt, spacing, wall = original, raw[name], raw_image.spacing_mm, raw_wall
            else:
                gt = np.asarray(p.la if name == "la" else p.scar) > 0
                pred, spacing, wall = probs[k] > 0.5, cfg.spacing_mm, np.asarray(p.wall) > 0
            row = {
                "case": p.name,
                "structure": name,
                **case_metrics(pred, gt, spacing),
                "diagonal_mm": diagonal_mm(pred.shape, spacing),
            }
            if name == "scar":
                row.update(burden_pred=scar_burden(pred, wall), burden_gt=scar_burden(gt, wall))
            rows.append(row)
    write_reports(rows, out)
    return rows


def write_reports(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k not in ("case", "structure"), k))
    with open(out / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    summary = {
        name: {
            m: summarize(
                [r[m] for r in rows if r["structure"] == name],
                [r["diagonal_mm"] for r in rows if r["structure"] == name],
            )
            for m in ("dice",) + DISTANCES
        }
        for name in sorted({r["structure"] for r in rows})
    }
    (out / "metrics.json").write_text(
        json.dumps({"cases": rows, "summary": summary}, indent=1, default=float)
    )


def mean_std_text(mean: float, std: float) -> str:
    """ "0.83 ± 0.04"; a std of a single value is undefined and shown as "± n/a", never "± 0.00"."""
    if math.isnan(mean):
        return "-"
    return f"{mean:.2f} ± {'n/a' if math.isnan(std) else f'{std:.2f}'}"


def table2(results: list[tuple[str, list[dict]]]) -> str:
    """The paper's Table 2 layout: per structure, one
    row per (stage label, rows), Dsc / HD (mm) / ASD (mm)
    as mean +- std with n per row; "-" where a stage does not segment that structure."""

    def cell(values):
        s = summarize(values)
        return mean_std_text(s["mean"], s["std"]) + (
            f" ({s['undefined']} undef.)" if s["undefined"] else ""
        )

    lines = []
    for name in ("la", "scar"):
        lines.append(TITLES[name])
        lines.append(f"{'Stage':<12}{'n':<4}{'Dsc':<18}{'HD (mm)':<22}{'ASD (mm)':<18}")
        for label, rows in results:
            sel = [r for r in rows if r["structure"] == name]
            cells = [cell([r[m] for r in sel]) if sel else "-" for m in ("dice", "hd", "asd")]
            n = str(len(sel)) if sel else "-"
            lines.append(f"{label:<12}{n:<4}{cells[0]:<18}{cells[1]:<22}{cells[2]:<18}")
    return "\n".join(lines)
