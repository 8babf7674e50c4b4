"""Figures — paper Fig. 3 (LGE, LA and scar ground truth and predictions per stage) and training
curves (the terms of Eq. 5, validation Dice, α(t) of Eq. 7); docs/design.md §9.

Optional: needs matplotlib (`pip install -e '.[viz]'`; inference/overlay.py draws). Per validation
case, the axial slice with the most ground-truth scar (else the most LA) is shown over the LGE
image: LA ground truth and predictions as contours, scar filled, each prediction panel with its
Dice on the whole volume.
Tests: tests/test_figures.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import read_volume
from ..data.input_checks import read_structure
from ..inference.overlay import DPI, PANEL_INCHES, draw, require_matplotlib, save_figure
from ..run_log import read_log
from .metrics import dice
from .provenance import read_result

__all__ = ["DPI", "PANEL_INCHES", "case_panels", "require_matplotlib", "save_panels"]


def case_panels(image: np.ndarray, gt: dict, preds: list[tuple[str, str, np.ndarray]]):
    """[(title, 2-D image, overlays)] for one case: LGE; LA ground truth and each LA prediction
    as contours; scar ground truth filled, each scar prediction filled with the ground truth's
    contour; z = the slice with the most ground-truth scar (else LA). overlays as
    inference.overlay.draw takes them."""
    ref = gt.get("scar") if gt.get("scar") is not None and gt["scar"].any() else gt["la"]
    z = int(np.argmax(ref.sum(axis=(0, 1))))
    sl = image[..., z]
    panels = [("LGE", sl, [])]
    la, scar = gt["la"][..., z], gt["scar"][..., z]
    panels.append(("LA GT", sl, [(la, "la_gt", "contour")]))
    for label, structure, pred in preds:
        if structure == "la":
            title = f"{label} (Dsc {dice(pred, gt['la']):.2f})"
            panels.append((title, sl, [(la, "la_gt", "contour"), (pred[..., z], "la", "contour")]))
    panels.append(("scar GT", sl, [(scar, "scar_gt", "fill")]))
    for label, structure, pred in preds:
        if structure == "scar":
            title = f"{label} (Dsc {dice(pred, gt['scar']):.2f})"
            panels.append(
                (title, sl, [(scar, "scar_gt", "contour"), (pred[..., z], "scar", "fill")])
            )
    return panels


def save_panels(panels, path: Path, title: str, spacing2d=(1.0, 1.0)) -> Path:
    """One row of panels -> PNG of (250 x n) x 250 pixels (no tight bbox, so the size is fixed)."""
    plt = require_matplotlib()
    fig, axes = plt.subplots(
        1, len(panels), figsize=(PANEL_INCHES * len(panels), PANEL_INCHES), dpi=DPI
    )
    for ax, (name, data, overlays) in zip(np.atleast_1d(axes), panels):
        draw(ax, np.asarray(data, dtype=np.float32), spacing2d, overlays, name)
    fig.suptitle(title, fontsize=8)
    return save_figure(fig, path)


def case_figures(
    chain: list[tuple[Path, dict]], out: Path, overrides: dict | None = None
) -> list[Path]:
    """Fig. 3-like PNGs for every case evaluated by eval.py under out/stage{N}/ (predictions in the
    original geometry, ground truth read from the case's files)."""
    labels, written = [], []
    stages = []
    for _, state in chain:
        labels.append({1: "I", 2: "II", 3: "III"}[state["stage"]])
        stages.append((state["stage"], "+".join(labels)))
    last = _metrics(out, stages[-1][0])["cases"]
    for case in sorted({r["case"] for r in last}):
        source = _sources(out, stages, case)
        volume = read_volume(source["image"], check_finite=False)
        image, spacing = volume.data, volume.spacing_mm
        gt = {k: read_structure(source, k) if source.get(k) else None for k in ("la", "scar")}
        if gt["scar"] is None:
            gt["scar"] = np.zeros_like(gt["la"])
        preds = []
        for stage, label in stages:
            for structure in ("la", "scar"):
                f = (
                    out
                    / f"stage{stage}"
                    / "predictions"
                    / f"{case.replace('/', '_')}_{structure}.nii.gz"
                )
                if f.is_file():
                    preds.append((label, structure, read_volume(f, check_finite=False).data > 0))
        path = out / "figures" / f"{case.replace('/', '_')}.png"
        panels = case_panels(image, gt, preds)
        written.append(save_panels(panels, path, case, spacing[:2]))
    return written


def _metrics(out: Path, stage: int) -> dict:
    """out/stage{N}/metrics.json, written by eval.py just before (a stale or truncated one was
    evaluated again there); one that cannot be read now is named."""
    stored, why = read_result(out / f"stage{stage}" / "metrics.json")
    if stored is None:
        raise ValueError(f"{why}; re-run eval.py without --figures first")
    return stored


def _sources(out: Path, stages, case: str) -> dict:
    for stage, _ in stages:
        metrics = _metrics(out, stage)
        if case in metrics.get("sources", {}):
            return metrics["sources"][case]
    raise ValueError(f"{out}: no source files recorded for {case}; re-run eval.py")


def training_curves(log_path: Path, out: Path) -> Path:
    """stage{N}.log.jsonl -> out/figures/stage{N}_curves.png: loss terms, validation Dice, α(t)."""
    plt = require_matplotlib()
    records = [r for r in read_log(log_path) if "event" not in r]
    epochs = [r["epoch"] for r in records]
    terms = [
        k
        for k in ("loss", "la", "scar", "la_dice", "la_ce", "scar_dice", "scar_ce")
        if k in records[0]
    ]
    vals = [
        k for k in records[0] if k.startswith("val_") and k.endswith("_dice") and k != "val_dice"
    ]
    fig, axes = plt.subplots(
        1, 3, figsize=(3 * PANEL_INCHES * 1.2, PANEL_INCHES * 1.2), dpi=DPI, layout="constrained"
    )  # constrained: the axis labels stay inside the picture
    for k in terms:
        axes[0].plot(epochs, [r[k] for r in records], label=k)
    for k in vals:
        axes[1].plot(epochs, [r.get(k, np.nan) for r in records], label=k[4:])
    axes[2].plot(epochs, [r["alpha_t"] for r in records], label="alpha(t)")
    for ax, title in zip(axes, ("loss terms (Eq. 5)", "validation Dice", "alpha(t) (Eq. 7)")):
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("epoch", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6)
    axes[0].set_ylabel("loss", fontsize=7)
    axes[1].set_ylabel("Dice", fontsize=7)
    axes[2].set_ylabel("alpha", fontsize=7)
    return save_figure(fig, out / "figures" / f"{log_path.name.split('.')[0]}_curves.png")
