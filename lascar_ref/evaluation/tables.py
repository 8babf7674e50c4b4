"""The paper's tables — §4.3 Table 2 (LA and scar per stage), §4.4 Table 3 (baselines);
docs/design.md §6, §9, §13 (the challenge's surface protocol, SURFACE_METRICS).

`table2`: one evaluation (one fold): per structure, one row per stage of the chain with n, Dsc,
HD (mm), ASD (mm) as mean ± sample std over cases.
`fold_cell`: a five-fold cell: mean ± std of the per-fold means (how a k-fold study's ± reads),
with the pooled per-case mean ± std and n beside it. A std of one value is undefined and printed
as "n/a", never as 0.00.
Every distance cell averages *all* cases: an undefined distance (one mask empty) counts as the
diagonal of that case's field of view in mm (metrics.penalised), so every row of a table averages
the same cases and an empty prediction never improves a cell; the number of such empty cases, the
median over all cases (which one empty case cannot move far, unlike the mean) and the mean over
the defined cases only are shown beside it, never alone (docs/design.md §6). A metric that is not
a distance can be undefined (metrics.undefined: NaN, e.g. surface sensitivity without
ground-truth scar): such a case is left out of that cell, counted and named as undefined, never
called penalised.
Tests: tests/test_eval.py, tests/test_summary.py
"""

from __future__ import annotations

import math

import numpy as np

from .metrics import DISTANCES, penalised, undefined

TITLES = {"la": "LA cavity segmentation", "scar": "LA scar segmentation"}
METRICS = (("dice", "Dsc"), ("hd", "HD (mm)"), ("asd", "ASD (mm)"))
# The challenge's scar protocol on the ground-truth LA surface (surface.py), in the same cells
SURFACE_TITLE = "LA scar on the LA surface (LAScarQS 2022 protocol)"
SURFACE_METRICS = (("surface_dice", "surface Dsc"), ("surface_gdice", "G-Dsc"))
SURFACE_EXTRA = (("surface_sen", "Sen"), ("surface_spe", "Spe"))  # eval.py's one-fold table


def mean_std_text(mean: float, std: float) -> str:
    """ "0.83 ± 0.04"; an undefined std (one value) is "± n/a"; no value at all is "-"."""
    if math.isnan(mean):
        return "-"
    return f"{mean:.2f} ± {'n/a' if math.isnan(std) else f'{std:.2f}'}"


def _mean_std(values) -> tuple[float, float]:
    v = np.asarray([x for x in values if not math.isnan(x)], dtype=np.float64)
    mean = float(v.mean()) if v.size else math.nan
    return mean, float(v.std(ddof=1)) if v.size > 1 else math.nan


def penalty_text(k: int, median: float, defined_mean: float, n_defined: int) -> str:
    """ "2 empty, penalised; median 12.40; defined only 38.45, n = 4"."""
    only = "-" if math.isnan(defined_mean) else f"{defined_mean:.2f}"
    return f"{k} empty, penalised; median {median:.2f}; defined only {only}, n = {n_defined}"


def undefined_text(names: list[str]) -> str:
    """ "2 undefined, left out: task1/train_3, task1/train_7"."""
    return f"{len(names)} undefined, left out: {', '.join(names)}"


def penalty_note(metric: str, rows: list[dict]) -> str:
    """penalty_text for a distance with undefined cases (one mask empty), undefined_text for
    another metric with undefined cases, else ""."""
    if metric not in DISTANCES:
        names = [r["case"] for r in rows if undefined(r, metric)]
        return undefined_text(names) if names else ""
    defined = [r[metric] for r in rows if not math.isnan(r[metric])]
    k = len(rows) - len(defined)
    if not k:
        return ""
    median = float(np.median([penalised(r, metric) for r in rows]))
    return penalty_text(k, median, float(np.mean(defined)) if defined else math.nan, len(defined))


def table2(results: list[tuple[str, list[dict]]]) -> str:
    """One fold's Table 2: per structure, one row per (stage label, case rows); "-" where a stage
    does not segment that structure. Distances penalised (module docstring)."""

    def cell(rows, metric):
        mean, std = _mean_std([penalised(r, metric) for r in rows])
        note = penalty_note(metric, rows)
        return mean_std_text(mean, std) + (f" ({note})" if note else "")

    lines = []
    for name in ("la", "scar"):
        lines.append(TITLES[name])
        lines.append(f"{'Stage':<12}{'n':<4}{'Dsc':<18}{'HD (mm)':<22}{'ASD (mm)':<18}")
        for label, rows in results:
            sel = [r for r in rows if r["structure"] == name]
            cells = [cell(sel, m) if sel else "-" for m, _ in METRICS]
            n = str(len(sel)) if sel else "-"
            lines.append(f"{label:<12}{n:<4}{cells[0]:<18}{cells[1]:<22}{cells[2]:<18}")
    surface = [(label, [r for r in rows if "surface_dice" in r]) for label, rows in results]
    if any(sel for _, sel in surface):
        lines.append(SURFACE_TITLE)
        heads = [h for _, h in SURFACE_METRICS + SURFACE_EXTRA]
        lines.append(f"{'Stage':<12}{'n':<4}" + "".join(f"{h:<18}" for h in heads))
        for label, sel in surface:
            cells = [cell(sel, m) if sel else "-" for m, _ in SURFACE_METRICS + SURFACE_EXTRA]
            n = str(len(sel)) if sel else "-"
            lines.append(f"{label:<12}{n:<4}" + "".join(f"{c:<18}" for c in cells))
    return "\n".join(lines)


def fold_cell(per_fold: dict[int, list[dict]], metric: str) -> dict:
    """fold -> case rows of one structure -> the cell's numbers (distances penalised; a case
    undefined in a metric that is not a distance left out and named; a fold with no defined case
    left out of the fold mean and count)."""
    undefined_cases = [
        r["case"] for k in sorted(per_fold) for r in per_fold[k] if undefined(r, metric)
    ]
    kept = {k: [r for r in rows if not undefined(r, metric)] for k, rows in per_fold.items()}
    folds = sorted(k for k, rows in kept.items() if rows)
    values = {k: [penalised(r, metric) for r in kept[k]] for k in folds}
    rows = [r for k in folds for r in kept[k]]
    fm, fs = _mean_std([float(np.mean(values[k])) for k in folds])
    pm, ps = _mean_std([x for k in folds for x in values[k]])
    defined = [r[metric] for r in rows if not math.isnan(r[metric])]
    pooled = [x for k in folds for x in values[k]]
    return {
        "undefined": undefined_cases,
        "fold_mean": fm,
        "fold_std": fs,
        "n_folds": len(folds),
        "pooled_mean": pm,
        "pooled_std": ps,
        "n_cases": len(rows),
        "penalised": len(rows) - len(defined),
        "median": float(np.median(pooled)) if pooled else math.nan,
        "defined_mean": float(np.mean(defined)) if defined else math.nan,
        "n_defined": len(defined),
        "folds": folds,
    }


def cell_text(c: dict) -> str:
    """ "0.49 ± 0.02 [5 folds] · 0.48 ± 0.11 (n = 60)"; with penalised cases
    "... (n = 60, 4 empty, penalised; median 12.40; defined only 31.20, n = 56)"."""
    if not c["n_cases"]:
        return f"- ({undefined_text(c['undefined'])})" if c.get("undefined") else "-"
    note = ""
    if c["penalised"]:
        note = ", " + penalty_text(c["penalised"], c["median"], c["defined_mean"], c["n_defined"])
    if c.get("undefined"):
        note += ", " + undefined_text(c["undefined"])
    return (
        f"{mean_std_text(c['fold_mean'], c['fold_std'])} [{c['n_folds']} folds] · "
        f"{mean_std_text(c['pooled_mean'], c['pooled_std'])} (n = {c['n_cases']}{note})"
    )


def markdown_table(
    title: str, head: str, rows: list[tuple[str, dict[str, dict]]], metrics=METRICS
) -> str:
    """A Markdown table: one row per (label, metric -> cell), one column per metric (default
    Dsc, HD, ASD)."""
    lines = [
        f"### {title}",
        "",
        f"| {head} | " + " | ".join(h for _, h in metrics) + " |",
        "|---|" + "---|" * len(metrics),
    ]
    for label, cells in rows:
        lines.append(
            f"| {label} | "
            + " | ".join(cell_text(cells[m]) if m in cells else "-" for m, _ in metrics)
            + " |"
        )
    return "\n".join(lines)
