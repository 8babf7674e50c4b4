"""Tables 2 and 3 over folds (lascar_ref/evaluation/summary.py, summary_report.py, tables.py;
docs/design.md §6, §9): fold mean ± std by hand on synthetic fold results, pooled per-case
figures with the median beside a penalised mean, missing folds named, the primary endpoint with
Holm by hand, results of another split left out, the last epoch tabulated on request."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from lascar_ref.evaluation import summary as summary_module
from lascar_ref.evaluation.summary import collect, tabulate
from lascar_ref.evaluation.summary_report import render, write_summary
from lascar_ref.evaluation.tables import cell_text, fold_cell


def scar_rows(dices, hd=10.0, fold=0):
    return [
        {
            "case": f"task1/train_{fold}{i}",
            "structure": "scar",
            "dice": d,
            "hd": hd,
            "asd": 1.0,
            "diagonal_mm": 100.0,
        }
        for i, d in enumerate(dices)
    ]


def rows_of(values, metric="hd", diagonal=100.0):
    return [
        {"case": f"c{i}", "structure": "scar", metric: v, "diagonal_mm": diagonal}
        for i, v in enumerate(values)
    ]


def test_fold_cell_by_hand_with_the_penalty():
    """An undefined distance counts as the case's diagonal (100 mm) in every mean."""
    c = fold_cell(
        {0: rows_of([4.0, 6.0]), 1: rows_of([7.0]), 2: rows_of([2.0, 3.0, math.nan])}, "hd"
    )
    means = [5.0, 7.0, (2.0 + 3.0 + 100.0) / 3]  # fold means, the NaN penalised
    m = sum(means) / 3
    s = math.sqrt(sum((x - m) ** 2 for x in means) / 2)
    pooled = [4.0, 6.0, 7.0, 2.0, 3.0, 100.0]
    pm = sum(pooled) / 6
    ps = math.sqrt(sum((x - pm) ** 2 for x in pooled) / 5)
    assert c["fold_mean"] == pytest.approx(m) and c["fold_std"] == pytest.approx(s)
    assert c["pooled_mean"] == pytest.approx(pm) and c["pooled_std"] == pytest.approx(ps)
    assert (c["n_folds"], c["n_cases"], c["penalised"], c["n_defined"]) == (3, 6, 1, 5)
    assert c["defined_mean"] == pytest.approx(22.0 / 5)
    assert c["median"] == pytest.approx(5.0)  # of 2, 3, 4, 6, 7, 100: (4 + 6) / 2
    text = cell_text(c)
    assert f"(n = 6, 1 empty, penalised; median 5.00; defined only {22 / 5:.2f}, n = 5)" in text
    assert math.isnan(fold_cell({0: rows_of([0.5, 0.7])}, "hd")["fold_std"])  # one fold: n/a


def test_an_empty_prediction_never_improves_a_distance_cell():
    """Recipe A predicts nothing on its hardest case (HD undefined), B predicts it badly (90 mm):
    A's cell is not better than B's, and both average the same 3 cases."""
    a = fold_cell({0: rows_of([5.0, 6.0, math.nan])}, "hd")
    b = fold_cell({0: rows_of([5.0, 6.0, 90.0])}, "hd")
    assert a["n_cases"] == b["n_cases"] == 3
    assert a["pooled_mean"] > b["pooled_mean"]  # the penalty (100 mm) exceeds any real distance
    assert a["defined_mean"] < b["defined_mean"]  # what the defined-only mean would have shown
    dice = fold_cell({0: rows_of([0.5, 0.0], metric="dice")}, "dice")
    assert dice["penalised"] == 0 and dice["pooled_mean"] == 0.25


def test_summary_tables_comparisons_and_missing_folds(tmp_path):
    la = {"case": "task1/train_1", "structure": "la", "hd": 5.0, "asd": 1.0, "diagonal_mm": 1.0}
    results = {
        "B1": {3: {0: scar_rows([0.4, 0.6]), 1: scar_rows([0.7], fold=1)}},  # fold 2 never ran
        "full": {
            1: {
                k: [{**la, "case": f"task1/train_{k}", "dice": d}] for k, d in ((0, 0.9), (1, 0.8))
            },
            2: {0: scar_rows([0.5, 0.3]), 1: scar_rows([0.3], fold=1)},
            3: {0: scar_rows([0.6, 0.4]), 1: scar_rows([0.4], fold=1)},
        },
    }
    missing = ["recipe B1, fold 2, stage 3: runs/B1/fold2/stage3.pt not found"]
    summary = tabulate(results, missing)
    b1 = summary.table3["B1"]["dice"]
    assert b1["fold_mean"] == pytest.approx((0.5 + 0.7) / 2)
    assert b1["fold_std"] == pytest.approx(math.sqrt(((0.5 - 0.6) ** 2 + (0.7 - 0.6) ** 2) / 1))
    assert b1["n_folds"] == 2 and b1["n_cases"] == 3
    full = summary.table3["full"]["dice"]
    assert full["fold_mean"] == pytest.approx((0.5 + 0.4) / 2)
    assert summary.table2["I"]["la"]["dice"]["fold_mean"] == pytest.approx(0.85)
    assert summary.table2["I"]["scar"] == {} and summary.table2["I+II+III"]["la"] == {}
    # paired: B1 - full on the same 3 cases (0.4 - 0.6, 0.6 - 0.4, 0.7 - 0.4), I+II+III - I+II
    b1_full = next(c for c in summary.paired if c["row"] == "B1 (III)" and c["metric"] == "dice")
    assert b1_full["reference"] == "Full (I+II+III)" and b1_full["n"] == 3
    assert b1_full["mean_diff"] == pytest.approx((-0.2 + 0.2 + 0.3) / 3)
    # the unit is the fold: fold 0's mean difference 0, fold 1's 0.3
    assert b1_full["mean_units"] == pytest.approx(0.15) and b1_full["n_units"] == 2
    assert b1_full["endpoint"] == "primary"
    row3 = next(c for c in summary.paired if c["row"] == "I+II+III" and c["metric"] == "dice")
    assert row3["reference"] == "I+II" and row3["mean_diff"] == pytest.approx(0.1)
    assert all(c["row"] != "I+II" or c["structure"] == "la" for c in summary.paired)
    text = render(summary)
    assert "recipe B1, fold 2, stage 3: runs/B1/fold2/stage3.pt not found" in text
    assert "| B1 (III) | 0.60 ± 0.14 [2 folds] · 0.57 ± 0.15 (n = 3)" in text
    assert "| primary | B1 (III) − Full (I+II+III) | scar | dice | +0.150 [" in text
    assert "over 2 folds, t p = " in text and "| +0.100 [" in text  # the cases column
    assert "| exploratory | I+II+III − I+II | scar | dice |" in text
    write_summary(summary, tmp_path)
    csv_text = (tmp_path / "summary.csv").read_text()
    assert (
        csv_text.startswith("kind,table,row,reference,structure,metric") and "B1 (III)" in csv_text
    )
    assert "paired,table3,B1 (III),Full (I+II+III),scar,dice" in csv_text
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["missing"] == summary.missing and len(saved["paired"]) == len(summary.paired)


def fold_results(diffs_by_recipe: dict[str, list[float]]) -> dict:
    """full scores 0.5 and 0.3 on two cases of each of 3 folds; a baseline shifts both cases
    of fold k by diffs[k] (plus +-0.01 so the case differences are not all equal)."""
    base = {k: scar_rows([0.5, 0.3], fold=k) for k in range(3)}
    out = {"full": {3: base}}
    for recipe, diffs in diffs_by_recipe.items():
        out[recipe] = {
            3: {
                k: scar_rows([0.5 + diffs[k] + 0.01, 0.3 + diffs[k] - 0.01], fold=k)
                for k in range(3)
            }
        }
    return out


def test_the_primary_endpoint_is_scar_dice_against_full_with_holm_by_hand():
    diffs = {"B1": [-0.10, -0.20, -0.12], "B2": [0.02, -0.05, 0.01]}
    summary = tabulate(fold_results(diffs))
    primary = {c["row"]: c for c in summary.paired if c["endpoint"] == "primary"}
    assert set(primary) == {"B1 (III)", "B2 (I+III)"}
    assert all(c["metric"] == "dice" for c in primary.values())
    p = {r: stats.ttest_1samp(np.array(diffs[r[:2]]), 0).pvalue for r in primary}
    for r, c in primary.items():
        assert c["p_units"] == pytest.approx(p[r])
    # Holm over the declared family, m = 4 (B3 and B4 were not run and still count, as an n/a p
    # does): 4 * smallest, then max(that, 3 * the next)
    lo, hi = sorted(p.values())
    small = min(p, key=p.get)
    big = max(p, key=p.get)
    assert primary[small]["p_holm"] == pytest.approx(min(1, 4 * lo))
    assert primary[big]["p_holm"] == pytest.approx(max(min(1, 4 * lo), min(1, 3 * hi)))
    others = [c for c in summary.paired if c["endpoint"] != "primary"]
    assert others and all(c["metric"] != "dice" for c in others)  # hd, asd: exploratory
    assert all(math.isnan(c["p_holm"]) for c in others)


def test_a_recipe_on_another_split_is_left_out_of_the_comparisons():
    results = fold_results({"B1": [0.1, 0.1, 0.1], "B2": [0.0, 0.1, 0.0]})
    same, other = "a" * 64, "b" * 64
    splits = {
        "full": {3: {k: same for k in range(3)}},
        "B1": {3: {k: other for k in range(3)}},
        "B2": {3: {0: same, 1: None, 2: same}},
    }
    summary = tabulate(results, [], splits)
    assert {c["row"] for c in summary.paired} == {"B2 (I+III)"}  # B1 left out, B2 compared
    assert summary.table3["B1"]["dice"]["n_cases"] == 6  # its row stays in Table 3
    assert summary.notes[0] == (
        "B1 (III) vs Full (I+II+III): left out of the comparisons, trained on split "
        "bbbbbbbbbbbb, Full (I+II+III) on aaaaaaaaaaaa"
    )
    assert (
        "B2 (I+III) vs Full (I+II+III): unverifiable, B2 (I+III) records no split_sha256"
        in (summary.notes[1])
    )
    assert "left out of the comparisons" in render(summary)


def test_collect_reads_the_split_and_the_last_epoch_on_request(tmp_path, monkeypatch):
    folder = tmp_path / "runs" / "B1"
    (folder / "fold0").mkdir(parents=True)
    (folder / "recipe.json").write_text(json.dumps({"recipe": "B1", "n_folds": 1}))
    for name in ("stage3.pt", "stage3.last.pt"):
        (folder / "fold0" / name).write_bytes(b"")
    seen = []

    def chain(path, say=print):
        return [(path, {"split_sha256": "c" * 64})]

    def stored(chain, out, overrides, **kw):
        seen.append((chain[-1][0].name, out.name))
        return scar_rows([0.4 if out.name == "stage3" else 0.2]), ""

    monkeypatch.setattr(summary_module, "init_chain", chain)
    monkeypatch.setattr(summary_module, "stored_or_evaluated", stored)
    results, missing, splits = collect(tmp_path / "runs", say=lambda *_: None)
    assert results["B1"][3][0][0]["dice"] == 0.4 and splits["B1"][3] == {0: "c" * 64}
    last, _, _ = collect(tmp_path / "runs", say=lambda *_: None, last=True)
    assert last["B1"][3][0][0]["dice"] == 0.2
    assert seen == [("stage3.pt", "stage3"), ("stage3.last.pt", "stage3.last")]
    assert any("recipe full" in m for m in missing)


def test_the_challenge_protocol_table_sits_beside_the_scar_rows():
    """Rows that carry the surface scores (surface.py) give a third table with the same cells and
    paired comparisons; an older result without them is left out, not an error."""
    results = fold_results({"B1": [-0.1, -0.2, -0.1], "B2": [0.0, 0.0, 0.0]})
    for recipe, shift in (("full", 0.0), ("B1", -0.1)):
        for rows in results[recipe][3].values():
            for r in rows:
                r.update(surface_dice=r["dice"] + 0.1, surface_gdice=0.9 + shift)
    summary = tabulate(results)
    assert set(summary.surface) == {"I+II+III", "B1 (III)"}  # B2's rows have no surface scores
    cell = summary.surface["B1 (III)"]["surface_gdice"]
    assert cell["fold_mean"] == pytest.approx(0.8) and cell["n_cases"] == 6
    surface = [c for c in summary.paired if c["table"] == "surface"]
    assert {(c["row"], c["metric"]) for c in surface} == {
        ("B1 (III)", "surface_dice"),
        ("B1 (III)", "surface_gdice"),
    }
    assert all(c["endpoint"] == "exploratory" for c in surface)
    gd = next(c for c in surface if c["metric"] == "surface_gdice")
    assert gd["mean_units"] == pytest.approx(-0.1)
    text = render(summary)
    assert "### LA scar on the LA surface (LAScarQS 2022 protocol)" in text
    assert "| B1 (III) | " in text.split("LAScarQS 2022 protocol")[1]


def test_a_fold_without_a_split_does_not_hide_another_split_in_the_other_folds():
    """One fold records no split, the others a split that differs from full's: a mismatch in
    any fold leaves the recipe out (it was compared, noted only "unverifiable", before)."""
    results = fold_results({"B1": [0.1, 0.1, 0.1]})
    same, other = "a" * 64, "b" * 64
    splits = {"full": {3: {k: same for k in range(3)}}, "B1": {3: {0: None, 1: other, 2: other}}}
    summary = tabulate(results, [], splits)
    assert not summary.paired
    assert summary.notes == [
        "B1 (III) vs Full (I+II+III): left out of the comparisons, trained on split "
        "bbbbbbbbbbbb, none, Full (I+II+III) on aaaaaaaaaaaa"
    ]


def test_an_undefined_non_distance_value_is_left_out_and_named_never_penalised():
    """Surface Sen of a case without ground-truth scar is NaN (undefined): folds [0.5, NaN] and
    [0.7, 0.6] give fold means 0.5 and 0.65 (0.575 over 2 folds), pooled 0.6 over 3 cases, the
    case named as undefined and not called penalised; the paired comparison has 3 pairs, the
    undefined case none (it was counted as a non-zero pair before)."""
    from lascar_ref.evaluation.paired import case_values, compare
    from lascar_ref.evaluation.tables import cell_text, fold_cell

    def row(case, v):
        return {"case": case, "structure": "scar", "surface_sen": v, "diagonal_mm": 100.0}

    a = {0: [row("c1", 0.5), row("c2", float("nan"))], 1: [row("c3", 0.7), row("c4", 0.6)]}
    b = {0: [row("c1", 0.4), row("c2", float("nan"))], 1: [row("c3", 0.7), row("c4", 0.5)]}
    c = fold_cell(a, "surface_sen")
    assert c["fold_mean"] == pytest.approx(0.575) and c["n_folds"] == 2
    assert c["pooled_mean"] == pytest.approx(0.6) and c["n_cases"] == 3
    assert c["undefined"] == ["c2"] and c["penalised"] == 0
    text = cell_text(c)
    assert "1 undefined, left out: c2" in text and "penalised" not in text
    assert "0.57 ± 0.11 [2 folds]" in text  # std of (0.5, 0.65) = 0.106
    d = compare(case_values(a, "scar", "surface_sen"), case_values(b, "scar", "surface_sen"))
    assert d["n"] == 3 and d["n_nonzero"] == 2 and d["mean_diff"] == pytest.approx(0.2 / 3)
    only = {0: [row("c2", float("nan"))]}  # a fold whose every case is undefined: no fold, "-"
    assert fold_cell(only, "surface_sen")["n_folds"] == 0
    assert cell_text(fold_cell(only, "surface_sen")) == "- (1 undefined, left out: c2)"
