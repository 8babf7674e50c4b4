"""Tables 2 and 3 over folds (lascar_ref/evaluation/summary.py, tables.py; docs/design.md §9):
fold mean ± std by hand on synthetic fold results, pooled per-case figures, and missing folds
named."""

import json
import math

import pytest
import torch

from lascar_ref.evaluation.summary import render, summarize_runs, write_summary
from lascar_ref.evaluation.tables import fold_cell


def write_fold(folder, stage, rows):
    """A fold with stage{N}.pt (a placeholder) and an up-to-date eval/stage{N}/metrics.json."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({}, folder / f"stage{stage}.pt")
    out = folder / "eval" / f"stage{stage}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps({"cases": rows}))


def scar_rows(dices, hd=10.0):
    return [
        {"case": f"task1/train_{i}", "structure": "scar", "dice": d, "hd": hd, "asd": 1.0}
        for i, d in enumerate(dices)
    ]


def manifest(folder, recipe, n_folds):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipe.json").write_text(
        json.dumps({"recipe": recipe, "n_folds": n_folds, "folds": []})
    )


def test_fold_cell_by_hand():
    c = fold_cell({0: [0.4, 0.6], 1: [0.7], 2: [0.2, 0.3, math.nan]})
    means = [0.5, 0.7, 0.25]  # fold means of the defined values
    m = sum(means) / 3
    s = math.sqrt(sum((x - m) ** 2 for x in means) / 2)
    pooled = [0.4, 0.6, 0.7, 0.2, 0.3]
    pm = sum(pooled) / 5
    ps = math.sqrt(sum((x - pm) ** 2 for x in pooled) / 4)
    assert c["fold_mean"] == pytest.approx(m) and c["fold_std"] == pytest.approx(s)
    assert c["pooled_mean"] == pytest.approx(pm) and c["pooled_std"] == pytest.approx(ps)
    assert (c["n_folds"], c["n_cases"], c["undefined"]) == (3, 5, 1)
    assert math.isnan(fold_cell({0: [0.5, 0.7]})["fold_std"])  # one fold: undefined, not 0


def test_summary_tables_and_missing_folds(tmp_path):
    runs = tmp_path / "runs"
    manifest(runs / "B1", "B1", 3)
    write_fold(runs / "B1" / "fold0", 3, scar_rows([0.4, 0.6]))
    write_fold(runs / "B1" / "fold1", 3, scar_rows([0.7]))
    # fold 2 of B1 never ran
    manifest(runs / "full", "full", 2)
    for k, (la, scar) in enumerate([(0.9, 0.5), (0.8, 0.3)]):
        write_fold(
            runs / "full" / f"fold{k}",
            1,
            [{"case": "task1/train_1", "structure": "la", "dice": la, "hd": 5.0, "asd": 1.0}],
        )
        write_fold(runs / "full" / f"fold{k}", 2, scar_rows([scar]))
        write_fold(runs / "full" / f"fold{k}", 3, scar_rows([scar + 0.1]))
    summary = summarize_runs(runs, evaluate=False)
    b1 = summary.table3["B1"]["dice"]
    assert b1["fold_mean"] == pytest.approx((0.5 + 0.7) / 2)
    assert b1["fold_std"] == pytest.approx(math.sqrt(((0.5 - 0.6) ** 2 + (0.7 - 0.6) ** 2) / 1))
    assert b1["n_folds"] == 2 and b1["n_cases"] == 3
    full = summary.table3["full"]["dice"]
    assert full["fold_mean"] == pytest.approx(0.5) and full["fold_std"] == pytest.approx(
        math.sqrt(0.02)
    )
    assert summary.table2["I"]["la"]["dice"]["fold_mean"] == pytest.approx(0.85)
    assert summary.table2["I"]["scar"] == {} and summary.table2["I+II+III"]["la"] == {}
    text = render(summary)
    assert f"recipe B1, fold 2: {runs / 'B1' / 'fold2' / 'stage3.pt'} not found" in text
    for absent in ("B2", "B3", "B4"):
        assert f"recipe {absent}: no recipe.json under {runs}" in text
    assert "| B1 (III) | 0.60 ± 0.14 [2 folds] · 0.57 ± 0.15 (n = 3)" in text
    write_summary(summary, runs)
    csv_text = (runs / "summary.csv").read_text()
    assert csv_text.startswith("table,row,structure,metric") and "B1 (III)" in csv_text
    assert json.loads((runs / "summary.json").read_text())["missing"] == summary.missing
