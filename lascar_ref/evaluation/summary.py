"""Tables 2 and 3 over five folds and the five recipes — paper §4.3-4.4; docs/design.md §9.

`summarize_runs(RUNS)` finds every recipe folder under RUNS (by its recipe.json), evaluates each
fold's checkpoints where no up-to-date metrics.json exists (into FOLD/eval/stage{N}/), and builds
  Table 2  from the full recipe: rows I, I+II, I+II+III; LA and scar; every row on the same
           Task 1 validation cases of each fold;
  Table 3  one row per recipe (B1, B2, B3, B4, Full): scar of the recipe's final stage.
Cells: mean ± std of the fold means, with the pooled per-case mean ± std (n) beside (tables.py).
A missing recipe, fold or checkpoint is named in `missing`, never silently dropped.
Tests: tests/test_summary.py
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..checkpoint import load_checkpoint
from ..recipe_table import MANIFEST, RECIPES
from .evaluate import evaluate_checkpoint
from .tables import METRICS, TITLES, cell_text, fold_cell, markdown_table

TABLE3 = {
    "B1": "B1 (III)",
    "B2": "B2 (I+III)",
    "B3": "B3 (II)",
    "B4": "B4 (II+III)",
    "full": "Full (I+II+III)",
}
TABLE2 = {1: "I", 2: "I+II", 3: "I+II+III"}


@dataclass
class Summary:
    """table2: row -> structure -> metric -> cell; table3: recipe -> metric -> cell."""

    table2: dict[str, dict[str, dict[str, dict]]] = field(default_factory=dict)
    table3: dict[str, dict[str, dict]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def find_runs(runs_dir: Path) -> dict[str, tuple[Path, dict]]:
    """recipe -> (its folder, its manifest), from every recipe.json under runs_dir."""
    found = {}
    for path in sorted(Path(runs_dir).rglob(MANIFEST)):
        manifest = json.loads(path.read_text())
        if manifest.get("recipe") in found:
            raise ValueError(
                f"{path}: a second folder for recipe {manifest['recipe']!r} "
                f"(first: {found[manifest['recipe']][0]})"
            )
        found[manifest.get("recipe")] = (path.parent, manifest)
    return found


def stage_rows(fold_dir: Path, stage: int, evaluate: bool, grid: str, say) -> list[dict] | None:
    """Case rows of FOLD/stage{N}.pt: read from FOLD/eval/stage{N}/metrics.json when newer than
    the checkpoint, else evaluated now (evaluate=True) or None (missing)."""
    ckpt, out = fold_dir / f"stage{stage}.pt", fold_dir / "eval" / f"stage{stage}"
    if not ckpt.is_file():
        return None
    metrics = out / "metrics.json"
    if metrics.is_file() and metrics.stat().st_mtime_ns >= ckpt.stat().st_mtime_ns:
        return json.loads(metrics.read_text())["cases"]
    if not evaluate:
        return None
    say(f"evaluating {ckpt} -> {out}")
    return evaluate_checkpoint(load_checkpoint(ckpt, schema="eval"), out, {"progress": "off"}, grid)


def _cells(per_fold: dict[int, list[dict]], structure: str) -> dict[str, dict]:
    rows = {k: [r for r in v if r["structure"] == structure] for k, v in per_fold.items()}
    if not any(rows.values()):
        return {}
    return {m: fold_cell({k: [r[m] for r in v] for k, v in rows.items() if v}) for m, _ in METRICS}


def summarize_runs(
    runs_dir: Path, evaluate: bool = True, grid: str = "original", say=print
) -> Summary:
    """Tables 2 and 3 from every recipe folder under runs_dir."""
    runs, summary = find_runs(runs_dir), Summary()
    for recipe in TABLE3:
        if recipe not in runs:
            summary.missing.append(f"recipe {recipe}: no {MANIFEST} under {runs_dir}")
            continue
        folder, manifest = runs[recipe]
        stages = (
            [s.stage for s in RECIPES[recipe]] if recipe == "full" else [RECIPES[recipe][-1].stage]
        )
        per_stage: dict[int, dict[int, list[dict]]] = {s: {} for s in stages}
        for k in range(manifest["n_folds"]):
            for s in stages:
                rows = stage_rows(folder / f"fold{k}", s, evaluate, grid, say)
                if rows is None:
                    summary.missing.append(
                        f"recipe {recipe}, fold {k}: "
                        f"{folder / f'fold{k}' / f'stage{s}.pt'} not found"
                    )
                else:
                    per_stage[s][k] = rows
        summary.table3[recipe] = _cells(per_stage[stages[-1]], "scar")
        if recipe == "full":
            summary.table2 = {
                TABLE2[s]: {name: _cells(per_stage[s], name) for name in TITLES} for s in stages
            }
    return summary


def render(summary: Summary) -> str:
    """Markdown: Table 2 (LA, scar), Table 3 and the list of what is missing."""
    parts = (
        [
            markdown_table(
                f"Table 2 — {TITLES[name]}",
                "Stage",
                [(row, cells[name]) for row, cells in summary.table2.items()],
            )
            for name in TITLES
        ]
        if summary.table2
        else ["### Table 2 — no full recipe found"]
    )
    parts.append(
        markdown_table(
            "Table 3 — scar segmentation by baseline",
            "Recipe",
            [(TABLE3[r], c) for r, c in summary.table3.items()],
        )
    )
    parts.append("Cells: mean ± std of the fold means [folds] · pooled per-case mean ± std (n).")
    parts.append(
        "Missing: " + ("none" if not summary.missing else "\n- " + "\n- ".join(summary.missing))
    )
    return "\n\n".join(parts)


def write_summary(summary: Summary, out: Path) -> None:
    """summary.md, summary.csv (one row per table cell), summary.json under out."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(render(summary) + "\n")
    cells = [
        ("table2", row, name, m, c)
        for row, by in summary.table2.items()
        for name, ms in by.items()
        for m, c in ms.items()
    ]
    cells += [
        ("table3", TABLE3[r], "scar", m, c)
        for r, ms in summary.table3.items()
        for m, c in ms.items()
    ]
    keys = ["fold_mean", "fold_std", "n_folds", "pooled_mean", "pooled_std", "n_cases", "undefined"]
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["table", "row", "structure", "metric", *keys, "text"])
        for table, row, name, m, c in cells:
            w.writerow([table, row, name, m, *(c[k] for k in keys), cell_text(c)])
    (out / "summary.json").write_text(
        json.dumps(
            {"table2": summary.table2, "table3": summary.table3, "missing": summary.missing},
            indent=1,
        )
    )
