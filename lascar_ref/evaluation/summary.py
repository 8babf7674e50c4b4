"""Tables 2 and 3 over five folds and the five recipes — paper §4.3-4.4; docs/design.md §6, §9.

`summarize_runs(RUNS)` finds every recipe folder under RUNS (by its recipe.json), reuses each
fold's FOLD/eval/stage{N}/metrics.json only when its provenance (checkpoint and --init chain
SHA-256, grid, mirror, data root, evaluated cases; provenance.py) matches, evaluates again
otherwise (or, with evaluate=False, names the stale result), and builds
  Table 2  from the full recipe: rows I, I+II, I+II+III; LA and scar; every row on the same
           Task 1 validation cases of each fold;
  Table 3  one row per recipe (B1, B2, B3, B4, Full): scar of the recipe's final stage;
  paired   every Table 3 recipe against full, every Table 2 row against the row before it, on
           the same cases (paired.py), the fold as the unit. The primary endpoint is scar Dice,
           each baseline against full (Table 3), with Holm-adjusted p over those comparisons;
           every other comparison is exploratory (docs/design.md §6).
Only results trained on the same split assignment are compared: each checkpoint's recorded
split SHA-256 is read, a recipe trained on another split than full is left out of the
comparisons (named in `notes` with both hashes), and a checkpoint that records none is named as
unverifiable. An external model (external.py: any folder under RUNS with an external.json, written
by `eval.py --pred`) is a Table 3 row of its own name, compared with full by the same paired
statistics and the same split check, as an exploratory comparison: the primary family stays the
four baselines. `last=True` tabulates every stage's last epoch (stage{N}.last.pt) instead of its
kept one, so the optimism of choosing the epoch on the scans it is scored on can be seen.
Cells: mean ± std of the fold means, with the pooled per-case mean ± std (n) beside; distances
penalised (tables.py). A missing recipe, fold or checkpoint is named in `missing`, never
silently dropped. Rendering and files: summary_report.py. Tests: tests/test_summary.py
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..recipe_table import MANIFEST, RECIPES
from .evaluate import init_chain, stored_or_evaluated
from .external import collect_external
from .paired import case_values, compare, holm
from .postprocess_choice import choose_for_recipe
from .tables import METRICS, SURFACE_METRICS, TITLES, fold_cell

TABLE3 = {
    "B1": "B1 (III)",
    "B2": "B2 (I+III)",
    "B3": "B3 (II)",
    "B4": "B4 (II+III)",
    "full": "Full (I+II+III)",
}
TABLE2 = {1: "I", 2: "I+II", 3: "I+II+III"}
PerFold = dict[int, list[dict]]  # fold -> case rows of one stage
Splits = dict[str, dict[int, dict[int, str | None]]]  # recipe -> stage -> fold -> split SHA-256


@dataclass
class Summary:
    """table2: row -> structure -> metric -> cell; table3: recipe -> metric -> cell; surface:
    the challenge's surface protocol (Table 2's scar rows, then each baseline) -> metric -> cell;
    paired: one dict per comparison (paired.compare plus table, row, reference, structure,
    metric, endpoint "primary" / "exploratory", p_holm); missing: what could not be tabulated,
    by name; notes: comparisons left out or unverifiable (split assignments), by name;
    checkpoint: "kept" (stage{N}.pt) or "last" (stage{N}.last.pt); external: the names of the
    Table 3 rows that are external models' predictions (external.py)."""

    table2: dict[str, dict[str, dict[str, dict]]] = field(default_factory=dict)
    table3: dict[str, dict[str, dict]] = field(default_factory=dict)
    paired: list[dict] = field(default_factory=list)
    surface: dict[str, dict[str, dict]] = field(default_factory=dict)  # row -> metric -> cell
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    postprocessing: dict[str, dict] = field(default_factory=dict)  # recipe -> choice
    checkpoint: str = "kept"
    external: list[str] = field(default_factory=list)


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
    fold_dir: Path, stage: int, evaluate: bool, grid: str, say, last: bool = False
) -> tuple[list[dict] | None, str, str | None]:
    """(case rows of FOLD/stage{N}.pt, "" or why there are none, the checkpoint's split SHA-256
    or None). The stored FOLD/eval/stage{N}/metrics.json is reused when its provenance matches;
    else the checkpoint is evaluated now (evaluate=True) or the result is named stale. last=True:
    FOLD/stage{N}.last.pt, into FOLD/eval/stage{N}.last/."""
    name = f"stage{stage}.last" if last else f"stage{stage}"
    ckpt, out = fold_dir / f"{name}.pt", fold_dir / "eval" / name
    if not ckpt.is_file():
        return None, f"{ckpt} not found", None
    chain = init_chain(ckpt, say=say)
    split = chain[-1][1].get("split_sha256")
    given = {"grid": grid, "evaluate_stale": evaluate, "say": say}
    rows, why = stored_or_evaluated(chain, out, {"progress": "off"}, **given)
    if rows is None:
        return None, f"{out / 'metrics.json'}: stale or absent ({why}); not evaluated", split
    return rows, "", split


def _cells(per_fold: PerFold, structure: str, metrics=METRICS) -> dict[str, dict]:
    rows = {
        k: [r for r in v if r["structure"] == structure and metrics[0][0] in r]
        for k, v in per_fold.items()
    }
    if not any(rows.values()):
        return {}
    return {m: fold_cell(rows, m) for m, _ in metrics}


def _compare(
    table, row, reference, a: PerFold, b: PerFold, structure: str, metrics=METRICS
) -> list[dict]:
    """The paired comparisons of row A against reference B for one structure, every metric."""
    out = []
    for metric, _ in metrics:
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
    runs_dir: Path, evaluate: bool = True, grid: str = "original", say=print, last: bool = False
) -> tuple[Results, list[str], Splits]:
    """The case rows of every tabulated stage of every recipe folder under runs_dir (Table 2: all
    stages of full; Table 3: each recipe's final stage), what is missing or stale, by name, and
    the split SHA-256 each checkpoint recorded."""
    runs, results, missing, splits = find_runs(runs_dir), {}, [], {}
    for recipe in TABLE3:
        if recipe not in runs:
            missing.append(f"recipe {recipe}: no {MANIFEST} under {runs_dir}")
            continue
        folder, manifest = runs[recipe]
        chain = [s.stage for s in RECIPES[recipe]]
        results[recipe] = {s: {} for s in (chain if recipe == "full" else chain[-1:])}
        splits[recipe] = {s: {} for s in results[recipe]}
        for k in range(manifest["n_folds"]):
            for s, per_fold in results[recipe].items():
                rows, why, split = stage_rows(folder / f"fold{k}", s, evaluate, grid, say, last)
                if rows is None:
                    missing.append(f"recipe {recipe}, fold {k}, stage {s}: {why}")
                else:
                    per_fold[k], splits[recipe][s][k] = rows, split
    return results, missing, splits


PRIMARY = {"table": "table3", "structure": "scar", "metric": "dice"}


def split_note(label: str, a: dict[int, str | None], b: dict[int, str | None], ref: str) -> str:
    """ "" when the two results' checkpoints record one and the same split SHA-256; else one line
    saying why they are not comparable (two different splits recorded anywhere, on either side,
    in any fold: left out) or not verifiable (every recorded split agrees, some fold records
    none: compared, and said)."""
    sa, sb = set(a.values()), set(b.values())
    recorded = (sa | sb) - {None}
    if len(recorded) > 1:
        names = lambda s: ", ".join(sorted(h[:12] if h else "none" for h in s))  # noqa: E731
        return (
            f"{label} vs {ref}: left out of the comparisons, trained on split {names(sa)}, "
            f"{ref} on {names(sb)}"
        )
    if None in sa | sb:
        who = " and ".join(x for x, s in ((label, sa), (ref, sb)) if None in s)
        return f"{label} vs {ref}: unverifiable, {who} records no split_sha256 (compared anyway)"
    return ""


def tabulate(
    results: Results,
    missing: list[str] | None = None,
    splits: Splits | None = None,
    external: dict[str, PerFold] | None = None,
    external_splits: dict[str, dict[int, str | None]] | None = None,
) -> Summary:
    """Tables 2 and 3 and the paired comparisons of collected results; comparisons only between
    results of one split assignment (split_note), Holm over the primary endpoint's. `external`:
    name -> fold -> case rows of external models (Table 3 rows, exploratory comparisons)."""
    summary = Summary(missing=list(missing or []))
    splits = splits or {}
    final = {recipe: stages[max(stages)] for recipe, stages in results.items()}

    def split_of(recipe, stage):
        return splits.get(recipe, {}).get(stage, {})

    def compared(label, a, b, ref):
        note = split_note(label, a, b, ref) if (a or b) else ""
        if note:
            summary.notes.append(note)
        return not note.startswith(f"{label} vs {ref}: left out")

    for recipe in (r for r in TABLE3 if r in results):
        summary.table3[recipe] = _cells(final[recipe], "scar")
    full = results.get("full", {})
    summary.table2 = {TABLE2[s]: {n: _cells(full[s], n) for n in TITLES} for s in sorted(full)}
    for before, after, structure in ((1, 2, "la"), (2, 3, "scar")):
        if before in full and after in full:
            a, b = full[after], full[before]
            row, ref = TABLE2[after], TABLE2[before]
            if compared(row, split_of("full", after), split_of("full", before), ref):
                summary.paired += _compare("table2", row, ref, a, b, structure)
                if structure == "scar":  # the challenge's protocol on the same pairs
                    summary.paired += _compare("surface", row, ref, a, b, "scar", SURFACE_METRICS)
    for s in (s for s in sorted(full) if s > 1):
        summary.surface[TABLE2[s]] = _cells(full[s], "scar", SURFACE_METRICS)
    for recipe in (r for r in TABLE3 if r in final and r != "full" and "full" in final):
        a, b = final[recipe], final["full"]
        sa, sb = split_of(recipe, max(results[recipe])), split_of("full", max(results["full"]))
        if compared(TABLE3[recipe], sa, sb, TABLE3["full"]):
            summary.paired += _compare("table3", TABLE3[recipe], TABLE3["full"], a, b, "scar")
            summary.paired += _compare(
                "surface", TABLE3[recipe], TABLE3["full"], a, b, "scar", SURFACE_METRICS
            )
    for recipe in (r for r in TABLE3 if r in final and r != "full"):
        summary.surface[TABLE3[recipe]] = _cells(final[recipe], "scar", SURFACE_METRICS)
    for name, per_fold in (external or {}).items():
        summary.external.append(name)
        summary.table3[name] = _cells(per_fold, "scar")
        summary.surface[name] = _cells(per_fold, "scar", SURFACE_METRICS)
        if "full" not in final:
            continue
        sb = split_of("full", max(results["full"]))
        if compared(name, (external_splits or {}).get(name, {}), sb, TABLE3["full"]):
            a, b = per_fold, final["full"]
            for c in _compare("table3", name, TABLE3["full"], a, b, "scar") + _compare(
                "surface", name, TABLE3["full"], a, b, "scar", SURFACE_METRICS
            ):
                summary.paired.append({**c, "endpoint": "exploratory"})
    summary.surface = {k: v for k, v in summary.surface.items() if v}
    baselines = {TABLE3[r] for r in TABLE3 if r != "full"}
    primary = [
        c
        for c in summary.paired
        if c["row"] in baselines and all(c[k] == v for k, v in PRIMARY.items())
    ]
    family = len(TABLE3) - 1  # the declared family: every baseline against full, run or not
    for c, p in zip(primary, holm([c["p_units"] for c in primary], family), strict=True):
        c["endpoint"], c["p_holm"] = "primary", p
    for c in summary.paired:
        c.setdefault("endpoint", "exploratory")
        c.setdefault("p_holm", float("nan"))
    return summary


def summarize_runs(
    runs_dir: Path, evaluate: bool = True, grid: str = "original", say=print, last: bool = False
) -> Summary:
    """Tables 2 and 3, the paired comparisons and each recipe's postprocessing choice (written to
    RECIPE/postprocessing.json; not with last=True, whose predictions are not the kept ones) from
    every recipe folder under runs_dir."""
    results, missing, splits = collect(runs_dir, evaluate, grid, say, last)
    external, external_splits = {}, {}
    if grid == "original":
        external, more, external_splits = collect_external(runs_dir, evaluate, say)
        missing += more
    elif list(Path(runs_dir).rglob("external.json")):
        missing.append("external models: scored on the original grid only (--grid original)")
    summary = tabulate(results, missing, splits, external, external_splits)
    summary.checkpoint = "last" if last else "kept"
    if not last:
        for recipe, (folder, manifest) in find_runs(runs_dir).items():
            summary.postprocessing[recipe] = choose_for_recipe(folder, manifest["n_folds"])
    return summary
