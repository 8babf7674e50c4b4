"""The paper's tables — §4.3 Table 2 (LA and scar per stage), §4.4 Table 3 (baselines);
docs/design.md §6, §9.

`table2`: one evaluation (one fold): per structure, one row per stage of the chain with n, Dsc,
HD (mm), ASD (mm) as mean ± sample std over cases.
`fold_cell`: a five-fold cell: mean ± std of the per-fold means (how a k-fold study's ± reads),
with the pooled per-case mean ± std and n beside it. A std of one value is undefined and printed
as "n/a", never as 0.00. Tests: tests/test_eval.py, tests/test_summary.py
"""

from __future__ import annotations

import math

import numpy as np

from .metrics import summarize

TITLES = {"la": "LA cavity segmentation", "scar": "LA scar segmentation"}
METRICS = (("dice", "Dsc"), ("hd", "HD (mm)"), ("asd", "ASD (mm)"))


def mean_std_text(mean: float, std: float) -> str:
    """ "0.83 ± 0.04"; an undefined std (one value) is "± n/a"; no value at all is "-"."""
    if math.isnan(mean):
        return "-"
    return f"{mean:.2f} ± {'n/a' if math.isnan(std) else f'{std:.2f}'}"


def table2(results: list[tuple[str, list[dict]]]) -> str:
    """One fold's Table 2: per structure, one row per (stage label, case rows); "-" where a stage
    does not segment that structure."""

    def cell(values):
        s = summarize(values)
        undefined = f" ({s['undefined']} undef.)" if s["undefined"] else ""
        return mean_std_text(s["mean"], s["std"]) + undefined

    lines = []
    for name in ("la", "scar"):
        lines.append(TITLES[name])
        lines.append(f"{'Stage':<12}{'n':<4}{'Dsc':<18}{'HD (mm)':<22}{'ASD (mm)':<18}")
        for label, rows in results:
            sel = [r for r in rows if r["structure"] == name]
            cells = [cell([r[m] for r in sel]) if sel else "-" for m, _ in METRICS]
            n = str(len(sel)) if sel else "-"
            lines.append(f"{label:<12}{n:<4}{cells[0]:<18}{cells[1]:<22}{cells[2]:<18}")
    return "\n".join(lines)


def _mean_std(values: list[float]) -> tuple[float, float]:
    v = np.asarray([x for x in values if not math.isnan(x)], dtype=np.float64)
    mean = float(v.mean()) if v.size else math.nan
    return mean, float(v.std(ddof=1)) if v.size > 1 else math.nan


def fold_cell(per_fold: dict[int, list[float]]) -> dict:
    """fold -> per-case values (NaN = undefined) -> the cell's numbers."""
    fold_means = [_mean_std(v)[0] for _, v in sorted(per_fold.items())]
    pooled = [x for _, v in sorted(per_fold.items()) for x in v]
    fm, fs = _mean_std(fold_means)
    pm, ps = _mean_std(pooled)
    return {
        "fold_mean": fm,
        "fold_std": fs,
        "n_folds": sum(not math.isnan(m) for m in fold_means),
        "pooled_mean": pm,
        "pooled_std": ps,
        "n_cases": sum(not math.isnan(x) for x in pooled),
        "undefined": sum(math.isnan(x) for x in pooled),
        "folds": sorted(per_fold),
    }


def cell_text(c: dict) -> str:
    """ "0.49 ± 0.02 [5 folds] · 0.48 ± 0.11 (n = 60)" (+ undefined cases)."""
    if not c["n_cases"]:
        return "-"
    undefined = f", {c['undefined']} undef." if c["undefined"] else ""
    return (
        f"{mean_std_text(c['fold_mean'], c['fold_std'])} [{c['n_folds']} folds] · "
        f"{mean_std_text(c['pooled_mean'], c['pooled_std'])} (n = {c['n_cases']}{undefined})"
    )


def markdown_table(title: str, head: str, rows: list[tuple[str, dict[str, dict]]]) -> str:
    """A Markdown table: one row per (label, metric -> cell), columns Dsc, HD, ASD."""
    lines = [
        f"### {title}",
        "",
        f"| {head} | " + " | ".join(h for _, h in METRICS) + " |",
        "|---|" + "---|" * len(METRICS),
    ]
    for label, cells in rows:
        lines.append(
            f"| {label} | "
            + " | ".join(cell_text(cells[m]) if m in cells else "-" for m, _ in METRICS)
            + " |"
        )
    return "\n".join(lines)
