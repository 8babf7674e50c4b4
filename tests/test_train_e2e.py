"""End to end through the real entry points (subprocess): Stage I -> II -> III -> eval on tiny
phantoms, with the users' verbatim commands; files written where documented (docs/design.md §2)."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from conftest import tiny_cli

pytestmark = pytest.mark.slow  # trains stages

ROOT = Path(__file__).resolve().parents[1]


def run(args, cwd):
    out = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


def test_stage1_2_3_then_eval(tmp_path, tiny_train):
    opts = tiny_cli(tiny_train)
    train, evaluate = str(ROOT / "train.py"), str(ROOT / "eval.py")
    run([train, "--stage", "1", *opts], tmp_path)
    log2 = run(
        [
            train,
            "--stage",
            "2",
            "--init",
            "stage1.pt",
            *opts,
            "--max-epochs",
            "2",
            "--alpha-ramp-epochs",
            "2",
            "--scar-bias-init",
            "prior",
        ],
        tmp_path,
    )
    assert "loaded: E, D_LA; new (random init): D_scar" in log2
    assert "scar head bias set to the prior: pi = " in log2
    log3 = run([train, "--stage", "3", "--init", "stage2.pt", *opts], tmp_path)  # verbatim usage
    assert "loaded: E, D_scar" in log3 and "dropped: D_LA" in log3
    for n in (1, 2, 3):
        for suffix in (".pt", ".last.pt", ".log.jsonl"):
            assert (tmp_path / f"stage{n}{suffix}").is_file()
    lines = [json.loads(s) for s in (tmp_path / "stage2.log.jsonl").read_text().splitlines()]
    start, records = lines[0], lines[1:]
    assert (
        start["event"] == "start"
        and start["loaded"] == ["E", "D_LA"]
        and start["new"] == ["D_scar"]
    )
    assert [r["alpha_t"] for r in records] == [0.0, 0.5]  # alpha(t) ramp over 2 epochs
    # Stage II is selected only from the end of the ramp (epoch 2): these 2 epochs are never
    # kept as best, the last one is written as stage2.pt (docs/design.md §2)
    assert start["select_from"] == 2 and "best epoch counted from epoch 2" in log2
    kept = torch.load(tmp_path / "stage2.pt", weights_only=True)
    assert kept["epoch"] == 1 and kept["early_stopping"]["best_epoch"] == -1
    # a log written to a file (not a terminal): no bar redraws, one line per epoch
    assert "\r" not in log2 and log2.count("stage 2 epoch ") == 2
    assert "alpha 0.50" in log2 and "alpha" not in log3.split("stage 3 epoch 0")[1]
    assert {"la", "scar", "la_dice", "scar_ce", "val_scar_dice", "val_la_dice"} <= set(records[0])
    assert 0 <= records[0]["val_scar_soft_dice"] <= 1 and 0 < records[0]["val_scar_max_prob"] <= 1
    assert set(records[0]["lr"]) == {"E", "D_LA", "D_scar"}
    report = run([evaluate, "--ckpt", "stage3.pt", "--out", "ev", "--no-progress"], tmp_path)
    # the --init chain gives Table 2's rows: I (LA), I+II (LA, scar), I+II+III (scar)
    lines = report.splitlines()
    table = lines[
        next(i for i, line in enumerate(lines) if line.startswith("LA cavity segmentation")) :
    ]
    assert [line.split()[0] for line in table[2:5]] == ["I", "I+II", "I+II+III"]
    # every row on the same Task 1 validation cases: 3 Task 1 scans in 2 folds, 2 in fold 0
    assert [line.split()[1] for line in table[2:4]] == ["2", "2"]
    assert table[4].split()[1:] == ["-", "-", "-", "-"]  # Stage III does not segment the LA
    assert table[7].split()[1:] == ["-", "-", "-", "-"] and table[8].split()[:2] == ["I+II", "2"]
    metrics = json.loads((tmp_path / "ev" / "stage3" / "metrics.json").read_text())
    assert len(metrics["cases"]) == 2 and {r["structure"] for r in metrics["cases"]} == {"scar"}
    assert {
        r["structure"]
        for r in json.loads((tmp_path / "ev" / "stage2" / "metrics.json").read_text())["cases"]
    } == {"la", "scar"}
    pred = next((tmp_path / "ev" / "stage3" / "predictions").glob("*_scar.nii.gz"))
    img = nib.load(str(pred))
    assert img.get_data_dtype() == np.uint8 and img.shape == (
        48,
        48,
        16,
    )  # the original phantom grid
    assert (tmp_path / "ev" / "stage3" / "metrics.csv").read_text().startswith("case,structure")
    # Table 2's rows are scored on identical case lists (the fold's Task 1 validation cases)
    cases = {
        n: [
            r["case"]
            for r in json.loads((tmp_path / "ev" / f"stage{n}" / "metrics.json").read_text())[
                "cases"
            ]
        ]
        for n in (1, 2, 3)
    }
    assert sorted(set(cases[1])) == sorted(set(cases[2])) == sorted(set(cases[3]))
    assert all(c.startswith("task1/") for c in cases[1])
    # provenance: the checkpoint and chain hashes, grid, mirror, data, cases
    prov = metrics["provenance"]
    assert prov["checkpoint"] == hashlib.sha256((tmp_path / "stage3.pt").read_bytes()).hexdigest()
    assert prov["init_chain"] == [
        hashlib.sha256((tmp_path / f"stage{n}.pt").read_bytes()).hexdigest() for n in (1, 2)
    ]
    assert (prov["grid"], prov["mirror"], prov["fold"]) == ("original", False, 0)
    # the figures: one Fig. 3-like PNG per case and the training curves of each stage; the stored
    # results are reused (same provenance), not evaluated again
    figs = run(
        [evaluate, "--ckpt", "stage3.pt", "--out", "ev", "--no-progress", "--figures"], tmp_path
    )
    assert "figures: 5 PNG files" in figs  # 2 cases + 3 stages' curves
    assert figs.count("is up to date (same provenance)") == 3
    assert len(list((tmp_path / "ev" / "figures").glob("task1_train_*.png"))) == 2
    # the training-time view: metrics on the preprocessed grid (64 x 48 x 32 at 2.5 x 2.5 x 5 mm)
    run(
        [
            evaluate,
            "--ckpt",
            "stage3.pt",
            "--out",
            "pre",
            "--no-chain",
            "--grid",
            "preprocessed",
            "--no-progress",
        ],
        tmp_path,
    )
    rows = json.loads((tmp_path / "pre" / "stage3" / "metrics.json").read_text())["cases"]
    assert [r["diagonal_mm"] for r in rows] == pytest.approx(
        [(160**2 + 120**2 + 160**2) ** 0.5] * 2
    )
    original = [r["diagonal_mm"] for r in metrics["cases"]]  # 48 x 48 x 16 raw grid
    assert original == pytest.approx([(120**2 + 120**2 + 80**2) ** 0.5] * 2)
    # --fov whole scores exactly what predict.py writes (one code path), on the original grid
    run([evaluate, "--ckpt", "stage3.pt", "--out", "whole", "--no-chain", "--fov", "whole",
         "--no-progress"], tmp_path)  # fmt: skip
    whole = json.loads((tmp_path / "whole" / "stage3" / "metrics.json").read_text())
    assert whole["provenance"]["fov"] == "whole" and len(whole["cases"]) == 2
    case = whole["cases"][0]["case"]
    source = whole["sources"][case]["image"]
    run([str(ROOT / "predict.py"), "--ckpt", "stage3.pt", "--in", source, "--out", "pred",
         "--no-progress"], tmp_path)  # fmt: skip
    mine = tmp_path / "whole" / "stage3" / "predictions" / f"{case.replace('/', '_')}_scar.nii.gz"
    theirs = next((tmp_path / "pred").glob("*_scar.nii.gz"))
    assert np.array_equal(nib.load(str(mine)).get_fdata(), nib.load(str(theirs)).get_fdata())
    # the chain is followed by hash: another file named stage1.pt is refused, naming both files
    other = torch.load(tmp_path / "stage1.pt", weights_only=True)
    other["epoch"] += 1  # any other bytes
    torch.save(other, tmp_path / "stage1.pt")
    out = subprocess.run(
        [sys.executable, evaluate, "--ckpt", "stage2.pt", "--out", "ev2", "--no-progress"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "stage1.pt: not the --init file stage2.pt was trained from" in (
        out.stderr
    )


def test_summary_evaluates_a_recipe_grid(tmp_path, tiny_train):
    out = tmp_path / "runs"
    run(
        [
            str(ROOT / "train.py"),
            "--recipe",
            "B1",
            "--fold",
            "all",
            "--out",
            str(out / "B1"),
            *tiny_cli(tiny_train),
        ],
        tmp_path,
    )
    text = run([str(ROOT / "eval.py"), "--summary", str(out)], tmp_path)
    assert "| B1 (III) |" in text and "[2 folds]" in text and "recipe B2: no recipe.json" in text
    for k in (0, 1):
        assert (out / "B1" / f"fold{k}" / "eval" / "stage3" / "metrics.json").is_file()
    assert (out / "summary.md").read_text().startswith("### Table 2")
    # a stored result is reused only for what produced it: another grid is stale, and named
    stale = run([str(ROOT / "eval.py"), "--summary", str(out), "--grid", "preprocessed",
                 "--no-evaluate"], tmp_path)  # fmt: skip
    assert "stale or absent (grid: original -> preprocessed); not evaluated" in stale
    assert "| B1 (III) | - |" in stale  # no cell from another grid's numbers
    again = run([str(ROOT / "eval.py"), "--summary", str(out)], tmp_path)
    assert "evaluating" not in again  # the same grid: reused
    assert "held-out mean Dice" in again and "| primary | B1" not in again  # B1 alone: no pair
    last = run([str(ROOT / "eval.py"), "--summary", str(out), "--last-epoch"], tmp_path)
    assert "Scored at the last epoch (stage{N}.last.pt), not the kept epoch." in last
    assert (out / "summary_last.md").is_file()
    assert (out / "B1" / "fold0" / "eval" / "stage3.last" / "metrics.json").is_file()
