"""What `eval.py --summary` writes: Tables 2 and 3, the paired comparisons, the postprocessing
choice — paper §4.3-4.4; docs/design.md §6, §9, §10.

`render(summary)`: Markdown, as printed and written to RUNS/summary.md; `write_summary`: also
summary.csv (one row per table cell and per comparison) and summary.json. Every comparison line
says what its unit is (folds), its interval and test (paired t over the fold means), the Holm
p of the primary endpoint, and the case-level numbers labelled descriptive (paired.py).
Tests: tests/test_summary.py
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from .paired import case_text, unit_text
from .summary import TABLE3, Summary
from .tables import SURFACE_METRICS, SURFACE_TITLE, TITLES, cell_text, markdown_table

CELL_KEYS = [
    "fold_mean",
    "fold_std",
    "n_folds",
    "pooled_mean",
    "pooled_std",
    "n_cases",
    "penalised",
    "median",
    "defined_mean",
    "n_defined",
]
PAIRED_KEYS = [
    "endpoint",
    "unit",
    "n_units",
    "mean_units",
    "sd_units",
    "p_units",
    "p_holm",
    "mdd80",
    "mdd80_upper",
    "n",
    "n_nonzero",
    "mean_a",
    "mean_b",
    "mean_diff",
    "sd_diff",
    "p_wilcoxon",
    "wilcoxon_floor",
]
INTERVALS = ["ci_units", "ci_cases"]


def _p(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.2g}"


def paired_table(paired: list[dict]) -> str:
    """Markdown: one line per comparison and metric (A - B on the same cases), primary first."""
    lines = [
        "### Paired differences on the same cases (row − reference)",
        "",
        "| endpoint | row − reference | structure | metric | mean of the fold-mean differences "
        "[95% t-interval over folds], paired t p; MDD80 | Holm p | cases (descriptive) |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in sorted(paired, key=lambda c: c["endpoint"] != "primary"):
        missing = f"; missing {', '.join(c['missing'])}" if c["missing"] else ""
        lines.append(
            f"| {c['endpoint']} | {c['row']} − {c['reference']} | {c['structure']} | "
            f"{c['metric']} | {unit_text(c)} | {_p(c['p_holm'])} | {case_text(c, '')}{missing} |"
        )
    return "\n".join(lines)


PAIRED_NOTE = (
    "Primary endpoint: scar Dice of each baseline against full (Table 3), Holm-adjusted over "
    "those comparisons; every other line is exploratory. The unit is the fold: each fold's cases "
    "are scored by that fold's own model, so the interval and the test are a paired t over the "
    "fold-mean differences (n/a below two folds). MDD80: the smallest true difference that test "
    "detects with 80% power at the observed spread of the fold means, and at the upper end of "
    "that spread's 95% interval. The case-level interval (t) and Wilcoxon p treat the cases as "
    "independent and are descriptive only; the floor is the smallest p the Wilcoxon test can "
    "reach with that many non-zero differences."
)


def postprocessing_table(choices: dict[str, dict]) -> str:
    """Markdown: per recipe and structure, the in-sample mean Dice of each candidate, the choice,
    and the cross-validated (held-out) mean Dice of choosing that way against none."""
    lines = [
        "### Postprocessing chosen on the validation cases",
        "",
        "| recipe | structure | n | in-sample mean Dice per candidate | chosen (all folds) "
        "| held-out mean Dice: none → chosen on the other folds |",
        "|---|---|---|---|---|---|",
    ]
    for recipe, by in choices.items():
        for name, c in by.items():
            means = ", ".join(f"{k} {v:.3f}" for k, v in c["mean_dice"].items()) or "-"
            cv = c.get("held_out")
            held = (
                "n/a (fewer than 2 folds)"
                if cv is None
                else f"{cv['none']:.3f} → {cv['chosen']:.3f} (n = {cv['n']})"
            )
            lines.append(f"| {recipe} | {name} | {c['n']} | {means} | {c['choice']} | {held} |")
    return "\n".join(lines)


def render(summary: Summary) -> str:
    """Markdown: Table 2 (LA, scar), Table 3, the paired comparisons, notes and what is missing."""
    which = "the last epoch (stage{N}.last.pt)" if summary.checkpoint == "last" else None
    parts = [f"Scored at {which}, not the kept epoch."] if which else []
    parts += (
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
            [(TABLE3.get(r, r), c) for r, c in summary.table3.items()],
        )
    )
    if summary.external:
        parts.append(
            f"External rows ({', '.join(summary.external)}): another model's predictions "
            "(eval.py --pred) scored by the same code on the same validation cases of the same "
            "folds; each is compared with Full as an exploratory comparison, outside the primary "
            "family. A model trained on an export of `python -m lascar_ref.data nnunet` saw the "
            "LA + scar scans only: nnU-Net cannot use the LA-only scans our Stage I trains on."
        )
    if summary.surface:
        rows = list(summary.surface.items())
        parts.append(markdown_table(SURFACE_TITLE, "Stage / recipe", rows, SURFACE_METRICS))
    parts.append(
        "Cells: mean ± std of the fold means [folds] · pooled per-case mean ± std (n). An HD or "
        "ASD where one mask is empty counts as the diagonal of the case's field of view "
        "(penalised); the median of all cases, the number of empty cases and the mean of the "
        "defined cases only are shown beside it."
    )
    if summary.paired:
        parts += [paired_table(summary.paired), PAIRED_NOTE]
    if summary.notes:
        parts.append("Comparisons: \n- " + "\n- ".join(summary.notes))
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


def write_summary(summary: Summary, out: Path, name: str = "summary") -> None:
    """NAME.md, NAME.csv (one row per table cell and per comparison), NAME.json in out."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(render(summary) + "\n")
    cells = [
        ("table2", row, structure, m, c)
        for row, by in summary.table2.items()
        for structure, ms in by.items()
        for m, c in ms.items()
    ]
    cells += [
        ("table3", TABLE3.get(r, r), "scar", m, c)
        for r, ms in summary.table3.items()
        for m, c in ms.items()
    ]
    cells += [
        ("surface", row, "scar", m, c) for row, ms in summary.surface.items() for m, c in ms.items()
    ]
    intervals = [f"{k}_{end}" for k in INTERVALS for end in ("low", "high")]
    head = ["kind", "table", "row", "reference", "structure", "metric", *CELL_KEYS, *PAIRED_KEYS]
    with open(out / f"{name}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*head, *intervals, "missing", "text"])
        blank_paired = [""] * (len(PAIRED_KEYS) + len(intervals) + 1)
        for table, row, structure, m, c in cells:
            front = ["cell", table, row, "", structure, m, *(c[k] for k in CELL_KEYS)]
            w.writerow([*front, *blank_paired, cell_text(c)])
        for c in summary.paired:
            front = ["paired", c["table"], c["row"], c["reference"], c["structure"], c["metric"]]
            w.writerow(
                [
                    *front,
                    *[""] * len(CELL_KEYS),
                    *(c[k] for k in PAIRED_KEYS),
                    *(x for k in INTERVALS for x in c[k]),
                    " ".join(c["missing"]),
                    f"{unit_text(c)}; {case_text(c)}",
                ]
            )
    fields = (
        "table2",
        "table3",
        "surface",
        "paired",
        "missing",
        "notes",
        "postprocessing",
        "checkpoint",
        "external",
    )
    payload = {k: getattr(summary, k) for k in fields}
    (out / f"{name}.json").write_text(json.dumps(_finite(payload), indent=1))
