"""Evaluation of a checkpoint on a fold's validation cases — paper §4.2-4.3 (Table 2);
docs/design.md §5-§6.

For each case: sliding-window probabilities on the preprocessed volume, predictions written as
uint8 NIfTI in the case's original geometry and header (crop undone, probabilities resampled
linearly, threshold 0.5), and metrics per structure (Dice, HD, HD95, ASSD, challenge ASD) on the
original grid (default, as the challenge) or the preprocessed grid, plus scar burden
|scar n wall| / |wall| (Eq. 6 band of the ground-truth LA) for prediction and ground truth.
Writes metrics.csv and metrics.json with the result's provenance (provenance.py; tables.py
renders them); `evaluate_checkpoint` evaluates a saved stage, `stored_or_evaluated` reuses a
stored result only when its provenance still holds, `init_chain` finds the stages a checkpoint
was trained from, by the SHA-256 each recorded of its --init (docs/design.md §6).
Tests: tests/test_eval.py, tests/test_provenance.py
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..checkpoints import file_sha256, load_checkpoint
from ..config import TrainConfig, config_dict, make_config
from ..data import read_volume, write_volume
from ..data.input_checks import read_structure
from ..data.preprocess import to_original_grid
from ..errors import CheckpointError
from ..inference.members import stage_predictor
from ..inference.sliding_window import sliding_window_probs
from ..inference.whole_scan import predict_scan
from ..losses import wall_mask
from ..runtime.device import autocast_for, resolve_amp, resolve_device
from ..stage_data import fold_cases, open_data
from ..stage_table import STAGES, StageSpec, build_model, predict_logits
from .metrics import DISTANCES, case_metrics, diagonal_mm, scar_burden, summarize
from .provenance import differences, provenance, read_result
from .surface import surface_scores


def evaluate(
    model,
    cfg: TrainConfig,
    spec: StageSpec,
    device: torch.device,
    out: Path,
    val: list,
    grid: str = "original",
    mirror: bool = False,
    provenance: dict | None = None,
    fov: str = "crop",
) -> list[dict]:
    """Predict, write and score the preprocessed validation cases `val`; one row per case and
    structure; metrics.csv / metrics.json record `provenance`. Table 2 passes Task 1's cases for
    every stage, so its rows share their cases (docs/design.md §6). fov "crop": sliding window
    over the preprocessed training crop; "whole": over the whole resampled scan, exactly as
    predict.py does (inference/whole_scan.predict_scan; metrics on the original grid)."""
    if fov == "whole" and grid != "original":
        raise ValueError("--fov whole is scored on the original grid (it is predict.py's output)")
    predict = predict_logits(model.eval(), spec)
    scan_predictor = stage_predictor("model", model, spec, config_dict(cfg))
    rows = []
    for p in tqdm(val, desc="evaluate", unit="case", disable=not cfg.bars):
        raw_image = read_volume(p.meta["source"]["image"], check_finite=False)
        if fov == "whole":
            scan = predict_scan(raw_image, [scan_predictor], device, mirror, cfg.sw_batch_size)
            whole = [scan.probs[name] for name in spec.outputs]  # stored grid
        else:
            probs = case_probs(p, predict, cfg, device, mirror)  # (K, X, Y, Z) preprocessed
        truth = truth_masks(p, spec.outputs, cfg, grid, raw_image.spacing_mm)
        for k, name in enumerate(spec.outputs):
            prob = whole[k] if fov == "whole" else to_original_grid(probs[k], p.meta)
            original = prob > 0.5
            write_volume(
                out / "predictions" / f"{p.name.replace('/', '_')}_{name}.nii.gz",
                original.astype(np.uint8),
                raw_image.affine,
                raw_image.header,
            )
            pred = original if grid == "original" else probs[k] > 0.5  # (crop: preprocessed)
            rows.append(case_row(p.name, name, pred, truth))
    write_reports(rows, out, {p.name: p.meta["source"] for p in val}, provenance)
    return rows


def _validation_cases(cfg: TrainConfig, task: int, cases: list[str] | None) -> list:
    """The fold's validation cases of `task`, or the named ones among them (ValueError naming
    any that is not a validation case of the fold)."""
    _, val = fold_cases(cfg, task, say=lambda *_: None)
    if not cases:
        return val
    missing = sorted(set(cases) - {p.name for p in val})
    if missing:
        raise ValueError(
            f"cases {missing} are not validation cases of fold {cfg.fold} "
            f"(available: {[p.name for p in val]})"
        )
    return [p for p in val if p.name in cases]


def case_probs(p, predict, cfg: TrainConfig, device: torch.device, mirror: bool) -> np.ndarray:
    """Sliding-window probabilities (K, X, Y, Z) of one preprocessed case, float32 on the CPU."""
    amp = resolve_amp(cfg.amp, device)
    image = torch.from_numpy(np.array(p.image, dtype=np.float32))[None, None].to(device)
    with (
        torch.no_grad(),
        autocast_for(device, amp)(),
    ):
        probs = sliding_window_probs(
            image, predict, cfg.patch, cfg.overlap, cfg.sw_batch_size, mirror=mirror, progress=False
        )
    return probs[0].float().cpu().numpy()


def truth_masks(p, outputs, cfg: TrainConfig, grid: str, raw_spacing) -> dict:
    """Ground truth of one case on the metric grid: {"spacing", "wall", structure: mask}; on the
    original grid read from the raw files (the wall, Eq. 6, of the raw LA), else the cached
    preprocessed arrays."""
    if grid != "original":
        masks = {"la": np.asarray(p.la) > 0}
        if p.scar is not None:
            masks["scar"] = np.asarray(p.scar) > 0
        return {**masks, "spacing": cfg.spacing_mm, "wall": np.asarray(p.wall) > 0}
    masks = {name: read_structure(p.meta["source"], name) for name in {"la", *outputs}}
    wall = None
    if "scar" in masks:
        wall = wall_mask(masks["la"], raw_spacing, cfg.delta_in_mm, cfg.delta_out_mm)
    return {**masks, "spacing": raw_spacing, "wall": wall}


def case_row(case: str, name: str, pred: np.ndarray, truth: dict) -> dict:
    """One metrics row: Dice, distances, the diagonal (penalty) and, for scar, the burden and
    the challenge's surface scores on the ground-truth LA surface (surface.py)."""
    gt, spacing = truth[name], truth["spacing"]
    row = {
        "case": case,
        "structure": name,
        **case_metrics(pred, gt, spacing),
        "diagonal_mm": diagonal_mm(pred.shape, spacing),
    }
    if name == "scar":
        wall = truth["wall"]
        row.update(burden_pred=scar_burden(pred, wall), burden_gt=scar_burden(gt, wall))
        row.update(surface_scores(truth["la"], gt, pred, spacing))  # the challenge's protocol
    return row


def init_chain(path: Path, follow: bool = True, say=print) -> list[tuple[Path, dict]]:
    """[(path, state)] from the first stage to `path`, following each checkpoint's --init by the
    SHA-256 it recorded (docs/design.md §6): the file of that name beside the checkpoint, else
    where it was written, is used only when its hash matches; a different file of that name is
    refused, naming both files. A checkpoint without the record is followed by name, with a note."""
    chain = [(Path(path), load_checkpoint(path, schema="eval"))]
    while follow and chain[0][1]["config"].get("init"):
        child, state = chain[0]
        recorded = Path(state["config"]["init"])
        found = [p for p in dict.fromkeys((child.parent / recorded.name, recorded)) if p.is_file()]
        if not found:
            break
        want = state.get("init_sha256")
        if want is None:
            say(f"note: {child} records no SHA-256 of its --init; {found[0]} followed by name")
            parent = found[0]
        else:
            parent = next((p for p in found if file_sha256(p) == want), None)
            if parent is None:
                raise CheckpointError(
                    f"{found[0]}: not the --init file {child} was trained from (SHA-256 "
                    f"{file_sha256(found[0])[:12]}..., recorded {want[:12]}...); evaluate "
                    f"{child} with --no-chain or put its own {recorded.name} beside it"
                )
        chain.insert(0, (parent, load_checkpoint(parent, schema="eval")))
    return chain


def evaluation_config(state: dict, overrides: dict | None = None) -> TrainConfig:
    """The configuration a checkpoint was trained with, updated by the given non-None values."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in state["config"].items() if k in fields}
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return make_config(**{**values, "init": None, "resume": None})


def plan(
    chain: list[tuple[Path, dict]],
    overrides: dict | None = None,
    grid: str = "original",
    cases: list[str] | None = None,
    mirror: bool = False,
    fov: str = "crop",
) -> tuple[TrainConfig, list, dict]:
    """(configuration, validation cases, provenance) of evaluating the chain's last checkpoint.
    Every stage is scored on Task 1's validation cases when the dataset has Task 1, so the rows
    of Table 2 share their cases (docs/design.md §6); an LA-only dataset scores Stage I on Task 2.
    """
    cfg = evaluation_config(chain[-1][1], overrides)
    ds = open_data(cfg)
    task = 1 if ds.has_task(1) else 2
    val = _validation_cases(cfg, task, cases)
    hashes = [file_sha256(p) for p, _ in chain]
    return cfg, val, provenance(hashes, grid, mirror, ds.root, cfg.fold, val, fov)


def stored_or_evaluated(
    chain: list[tuple[Path, dict]],
    out: Path,
    overrides: dict | None = None,
    grid: str = "original",
    cases: list[str] | None = None,
    mirror: bool = False,
    fov: str = "crop",
    evaluate_stale: bool = True,
    reuse: bool = True,
    say=print,
) -> tuple[list[dict] | None, str]:
    """(rows, why): the rows of out/metrics.json with why "" when its provenance equals what
    evaluating the chain's last checkpoint would record now (reuse=True); otherwise the checkpoint
    is evaluated (evaluate_stale=True; rows None when False) and why says what differed. The plan
    (configuration, cases, provenance) is computed once for both."""
    cfg, val, prov = plan(chain, overrides, grid, cases, mirror, fov)
    metrics = Path(out) / "metrics.json"
    if not reuse:
        why = "re-evaluation asked"
    else:
        stored, why = read_result(metrics)
        if stored is not None:
            why = "; ".join(differences(stored.get("provenance"), prov))
            if not why and "cases" in stored:
                return stored["cases"], ""
            why = why or f"{metrics}: no cases recorded, treated as stale"
    if not evaluate_stale:
        return None, why
    say(f"evaluating {chain[-1][0]} -> {out} ({why})")
    return _evaluate_planned(chain[-1][1], cfg, val, prov, out, grid, mirror, fov), why


def evaluate_checkpoint(
    chain: list[tuple[Path, dict]],
    out: Path,
    overrides: dict | None = None,
    grid: str = "original",
    cases: list[str] | None = None,
    mirror: bool = False,
    fov: str = "crop",
) -> list[dict]:
    """Evaluate the last checkpoint of `chain` (init_chain) on its fold's validation cases into
    `out`, recording the provenance (checkpoint and chain hashes, grid, mirror, fov, data,
    cases)."""
    cfg, val, prov = plan(chain, overrides, grid, cases, mirror, fov)
    return _evaluate_planned(chain[-1][1], cfg, val, prov, out, grid, mirror, fov)


def _evaluate_planned(state, cfg, val, prov, out, grid, mirror, fov) -> list[dict]:
    """evaluate() of a loaded checkpoint state with its plan (configuration, cases, provenance)."""
    spec = STAGES[cfg.stage]
    device = resolve_device(cfg.device)
    model = build_model(spec, cfg.feature_size)
    model.load_state_dict(state["model"])
    return evaluate(model.to(device), cfg, spec, device, out, val, grid, mirror, prov, fov)


def write_reports(
    rows: list[dict], out: Path, sources: dict | None = None, provenance: dict | None = None
) -> None:
    """metrics.csv (one row per case and structure, with the provenance in columns) and
    metrics.json (rows, summaries, each case's source files, the provenance)."""
    out.mkdir(parents=True, exist_ok=True)
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k not in ("case", "structure"), k))
    prov = {
        f"provenance_{k}": " ".join(v) if isinstance(v, list) else v
        for k, v in (provenance or {}).items()
    }
    with open(out / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys + list(prov))
        writer.writeheader()
        writer.writerows({**r, **prov} for r in rows)
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
        json.dumps(
            {"cases": rows, "summary": summary, "sources": sources or {}, "provenance": provenance},
            indent=1,
            default=float,
        )
    )
