"""Tables 2 and 3 over five folds and the five recipes — paper §4.3-4.4; docs/design.md §6, §9.

`summarize_runs(RUNS)` finds every recipe folder under RUNS (by its recipe.json), reuses each
fold's FOLD/eval/stage{N}/metrics.json only when its provenance (checkpoint and --init chain
SHA-256, grid, mirror, data root, evaluated cases; provenance.py) matches, evaluates again
otherwise (or, with evaluate=False, names the stale result), and builds
  Table 2  from the full recipe: rows I, I+II, I+II+III; LA and scar; every row on the same
           Task 1 validation cases of each fold;
  Table 3  one row per recipe (B1, B2, B3, B4, Full): scar of the recipe's final stage;
  paired   every Table 3 recipe against full, every Table 2 row against the row before it, on
           the same cases (paired.py).
Cells: mean ± std of the fold means, with the pooled per-case mean ± std (n) beside; distances
penalised (tables.py). A missing recipe, fold or checkpoint is named in `missing`, never
silently dropped. Tests: tests/test_summary.py
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..recipe_table import MANIFEST, RECIPES
from .evaluate import init_chain, stored_or_evaluated
from .paired import case_values, compare, comparison_text
from .postprocess_choice import choose_for_recipe
from .tables import METRICS, TITLES, cell_text, fold_cell, markdown_table

TABLE3 = {
    "B1": "B1 (III)",
    "B2": "B2 (I+III)",
    "B3": "B3 (II)",
    "B4": "B4 (II+III)",
    "full": "Full (I+II+III)",
}
TABLE2 = {1: "I", 2: "I+II", 3: "I+II+III"}
PerFold = dict[int, list[dict]]  # fold -> case rows of one stage


@dataclass
class Summary:
    """table2: row -> structure -> metric -> cell; table3: recipe -> metric -> cell;
    paired: one dict per comparison (paired.compare plus table, row, reference, structure,
    metric); missing: what could not be tabulated, by name."""

    table2: dict[str, dict[str, dict[str, dict]]] = field(default_factory=dict)
    table3: dict[str, dict[str, dict]] = field(default_factory=dict)
    paired: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    postprocessing: dict[str, dict] = field(default_factory=dict)  # recipe -> choice


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


def stage_rows(
    fold_dir: Path, stage: int, evaluate: bool, grid: str, say
) -> tuple[list[dict] | None, str]:
    """(case rows of FOLD/stage{N}.pt, "" or why there are none). The stored
    FOLD/eval/stage{N}/metrics.json is reused when its provenance matches; else the checkpoint is
    evaluated now (evaluate=True) or the result is named stale."""
    ckpt, out = fold_dir / f"stage{stage}.pt", fold_dir / "eval" / f"stage{stage}"
    if not ckpt.is_file():
        return None, f"{ckpt} not found"
    chain = init_chain(ckpt, say=say)
    given = {"grid": grid, "evaluate_stale": evaluate, "say": say}
    rows, why = stored_or_evaluated(chain, out, {"progress": "off"}, **given)
    if rows is None:
        return None, f"{out / 'metrics.json'}: stale or absent ({why}); not evaluated"
    return rows, ""


def _cells(per_fold: PerFold, structure: str) -> dict[str, dict]:
    rows = {k: [r for r in v if r["structure"] == structure] for k, v in per_fold.items()}
    if not any(rows.values()):
        return {}
    return {m: fold_cell(rows, m) for m, _ in METRICS}


def _compare(table, row, reference, a: PerFold, b: PerFold, structure: str) -> list[dict]:
    """The paired comparisons of row A against reference B for one structure, every metric."""
    out = []
    for metric, _ in METRICS:
        va, vb = case_values(a, structure, metric), case_values(b, structure, metric)
        if va and vb:
            c = compare(va, vb)
            out.append(
                {"table": table, "row": row, "reference": reference, "structure": structure}
                | {"metric": metric, **c}
            )
    return out


Results = dict[str, dict[int, PerFold]]  # recipe -> stage -> fold -> case rows


def collect(
    runs_dir: Path, evaluate: bool = True, grid: str = "original", say=print
) -> tuple[Results, list[str]]:
    """The case rows of every tabulated stage of every recipe folder under runs_dir (Table 2: all
    stages of full; Table 3: each recipe's final stage), and what is missing or stale, by name."""
    runs, results, missing = find_runs(runs_dir), {}, []
    for recipe in TABLE3:
        if recipe not in runs:
            missing.append(f"recipe {recipe}: no {MANIFEST} under {runs_dir}")
            continue
        folder, manifest = runs[recipe]
        chain = [s.stage for s in RECIPES[recipe]]
        results[recipe] = {s: {} for s in (chain if recipe == "full" else chain[-1:])}
        for k in range(manifest["n_folds"]):
            for s, per_fold in results[recipe].items():
                rows, why = stage_rows(folder / f"fold{k}", s, evaluate, grid, say)
                if rows is None:
                    missing.append(f"recipe {recipe}, fold {k}, stage {s}: {why}")
                else:
                    per_fold[k] = rows
    return results, missing


def tabulate(results: Results, missing: list[str] | None = None) -> Summary:
    """Tables 2 and 3 and the paired comparisons of collected results."""
    summary = Summary(missing=list(missing or []))
    final = {recipe: stages[max(stages)] for recipe, stages in results.items()}
    for recipe in (r for r in TABLE3 if r in results):
        summary.table3[recipe] = _cells(final[recipe], "scar")
    full = results.get("full", {})
    summary.table2 = {TABLE2[s]: {n: _cells(full[s], n) for n in TITLES} for s in sorted(full)}
    for before, after, structure in ((1, 2, "la"), (2, 3, "scar")):
        if before in full and after in full:
            a, b = full[after], full[before]
            summary.paired += _compare("table2", TABLE2[after], TABLE2[before], a, b, structure)
    for recipe in (r for r in TABLE3 if r in final and r != "full" and "full" in final):
        a, b = final[recipe], final["full"]
        summary.paired += _compare("table3", TABLE3[recipe], TABLE3["full"], a, b, "scar")
    return summary


def summarize_runs(
    runs_dir: Path, evaluate: bool = True, grid: str = "original", say=print
) -> Summary:
    """Tables 2 and 3, the paired comparisons and each recipe's postprocessing choice (written to
    RECIPE/postprocessing.json) from every recipe folder under runs_dir."""
    summary = tabulate(*collect(runs_dir, evaluate, grid, say))
    for recipe, (folder, manifest) in find_runs(runs_dir).items():
        summary.postprocessing[recipe] = choose_for_recipe(folder, manifest["n_folds"])
    return summary


def paired_table(paired: list[dict]) -> str:
    """Markdown: one line per comparison and metric (A - B on the same cases)."""
    lines = [
        "### Paired differences on the same cases (row − reference)",
        "",
        "| table | row − reference | structure | metric | mean difference [95% CI over cases], "
        "[over fold means]; Wilcoxon p; n; smallest difference detectable at 80% power |",
        "|---|---|---|---|---|",
    ]
    for c in paired:
        lines.append(
            f"| {c['table']} | {c['row']} − {c['reference']} | {c['structure']} | "
            f"{c['metric']} | {comparison_text(c)} |"
        )
    return "\n".join(lines)


def postprocessing_table(choices: dict[str, dict]) -> str:
    """Markdown: per recipe and structure, the mean Dice of each candidate and the choice."""
    lines = [
        "### Postprocessing chosen on the validation cases (mean Dice per candidate)",
        "",
        "| recipe | structure | n | candidates | chosen |",
        "|---|---|---|---|---|",
    ]
    for recipe, by in choices.items():
        for name, c in by.items():
            means = ", ".join(f"{k} {v:.3f}" for k, v in c["mean_dice"].items()) or "-"
            lines.append(f"| {recipe} | {name} | {c['n']} | {means} | {c['choice']} |")
    return "\n".join(lines)


def render(summary: Summary) -> str:
    """Markdown: Table 2 (LA, scar), Table 3, the paired comparisons and what is missing."""
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
    parts.append(
        "Cells: mean ± std of the fold means [folds] · pooled per-case mean ± std (n). An HD or "
        "ASD where one mask is empty counts as the diagonal of the case's field of view "
        "(penalised); the mean of the defined cases only is shown beside it."
    )
    if summary.paired:
        parts.append(paired_table(summary.paired))
        parts.append(
            "CI: 95% bootstrap interval of the mean difference (percentile, 9999 resamples) over "
            "cases and over fold means; p: two-sided Wilcoxon signed-rank over cases; MDD80: the "
            "smallest true difference these n pairs detect with 80% power at their spread."
        )
    if summary.postprocessing:
        parts.append(postprocessing_table(summary.postprocessing))
    parts.append(
        "Missing: " + ("none" if not summary.missing else "\n- " + "\n- ".join(summary.missing))
    )
    return "\n\n".join(parts)


def _finite(x):
    """JSON-safe: NaN -> None, tuples -> lists."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    return x


CELL_KEYS = [
    "fold_mean",
    "fold_std",
    "n_folds",
    "pooled_mean",
    "pooled_std",
    "n_cases",
    "penalised",
    "defined_mean",
    "n_defined",
]
PAIRED_KEYS = ["n", "n_folds", "mean_a", "mean_b", "mean_diff", "sd_diff", "p_wilcoxon", "mdd80"]


def write_summary(summary: Summary, out: Path) -> None:
    """summary.md, summary.csv (one row per table cell and per comparison), summary.json."""
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
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "kind",
                "table",
                "row",
                "reference",
                "structure",
                "metric",
                *CELL_KEYS,
                *PAIRED_KEYS,
                "ci_cases_low",
                "ci_cases_high",
                "ci_folds_low",
                "ci_folds_high",
                "missing",
                "text",
            ]
        )
        blank_paired = [""] * (len(PAIRED_KEYS) + 5)
        for table, row, name, m, c in cells:
            w.writerow(
                [
                    "cell",
                    table,
                    row,
                    "",
                    name,
                    m,
                    *(c[k] for k in CELL_KEYS),
                    *blank_paired,
                    cell_text(c),
                ]
            )
        for c in summary.paired:
            w.writerow(
                [
                    "paired",
                    c["table"],
                    c["row"],
                    c["reference"],
                    c["structure"],
                    c["metric"],
                    *[""] * len(CELL_KEYS),
                    *(c[k] for k in PAIRED_KEYS),
                    *c["ci_cases"],
                    *c["ci_folds"],
                    " ".join(c["missing"]),
                    comparison_text(c),
                ]
            )
    (out / "summary.json").write_text(
        json.dumps(
            _finite(
                {
                    "table2": summary.table2,
                    "table3": summary.table3,
                    "paired": summary.paired,
                    "missing": summary.missing,
                    "postprocessing": summary.postprocessing,
                }
            ),
            indent=1,
        )
    )
