"""Experiments by name (lascar_ref/recipe_table.py, lascar_ref/training/recipes.py, train.py;
docs/design.md §9): recipe chains, all folds, and a re-run after a crash that continues the grid
instead of retraining it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import opts, tiny_cli, train_cli

from lascar_ref.checkpoints import load_checkpoint
from lascar_ref.recipe_table import RECIPES
from lascar_ref.run_log import read_log

ROOT = Path(__file__).resolve().parents[1]


def test_recipes_are_the_papers_chains():
    chains = {name: [(s.stage, s.init_stage) for s in steps] for name, steps in RECIPES.items()}
    assert chains == {
        "full": [(1, None), (2, 1), (3, 2)],
        "B1": [(3, None)],
        "B2": [(1, None), (3, 1)],
        "B3": [(2, None)],
        "B4": [(2, None), (3, 2)],
    }


@pytest.mark.slow  # trains stages
def test_b4_all_folds_interrupted_after_the_first_fold_then_rerun(tmp_path, tiny_train):
    out = tmp_path / "runs" / "B4"
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        "--recipe",
        "B4",
        "--fold",
        "all",
        "--out",
        str(out),
        *tiny_cli(tiny_train),
    ]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.time() + 300
    while (
        not (out / "fold1" / "stage2.log.jsonl").exists()
        and proc.poll() is None
        and time.time() < deadline
    ):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 in the second fold's Stage II
    proc.wait()
    fold0 = {p.name: p.stat().st_mtime_ns for p in (out / "fold0").glob("stage*")}
    assert {"stage2.pt", "stage3.pt", "stage3.last.pt"} <= set(fold0)
    assert load_checkpoint(out / "fold0" / "stage3.last.pt")["complete"] is True
    rerun = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    text = rerun.stdout + rerun.stderr
    assert f"stage 2 in {out / 'fold0'} is complete; skipped" in text
    assert f"stage 3 in {out / 'fold0'} is complete; skipped" in text
    assert {
        p.name: p.stat().st_mtime_ns for p in (out / "fold0").glob("stage*")
    } == fold0  # not retrained
    for k in (0, 1):
        s2, s3 = (load_checkpoint(out / f"fold{k}" / f"stage{n}.last.pt") for n in (2, 3))
        assert s2["config"]["fold"] == s3["config"]["fold"] == k and s3["complete"]
        assert s2["loaded_groups"] == [] and s3["loaded_groups"] == [
            "E",
            "D_scar",
        ]  # II scratch -> III
        assert s3["config"]["init"].endswith(f"fold{k}/stage2.pt")
    manifest = json.loads((out / "recipe.json").read_text())
    assert manifest["recipe"] == "B4" and manifest["folds"] == [0, 1] and manifest["n_folds"] == 2
    start = read_log(out / "fold1" / "stage3.log.jsonl")[0]
    assert start["frozen"] and start["lr"] == {"E": 1e-4, "D_scar": 1e-4}


def test_fold_all_needs_a_chain_and_a_valid_fold(tmp_path, capsys, tiny_train):
    from conftest import load_script

    train = load_script("train")
    assert train.main(["--stage", "1", "--fold", "x", *tiny_cli(tiny_train)]) == 2
    assert "--fold 'x': expected a fold number or 'all'" in capsys.readouterr().err
    assert train.main(["--stage", "2", "--fold", "all", *tiny_cli(tiny_train)]) == 2
    assert "--fold all trains a chain of stages per fold" in capsys.readouterr().err
    assert train.main(["--recipe", "B1", "--resume", "x.last.pt", *tiny_cli(tiny_train)]) == 2
    assert "a recipe resumes by itself" in capsys.readouterr().err
    assert train.main(["--stage", "all", "--init", "stage1.pt", *tiny_cli(tiny_train)]) == 2
    assert "--init is for one stage" in capsys.readouterr().err


@pytest.mark.slow  # trains stages
def test_stage_all_resume_continues_the_chain(tmp_path, capsys, tiny_train):
    out = tmp_path / "run"
    rc, text = train_cli(["--stage", "1", *opts(tiny_train, out=str(out))], capsys)
    assert rc == 0, text
    last = out / "stage1.last.pt"
    rc, text = train_cli(
        ["--stage", "all", "--resume", str(last), *opts(tiny_train, out=str(out), max_epochs=2)],
        capsys,
    )
    assert rc == 0, text
    for stage in (2, 3):
        state = load_checkpoint(out / f"stage{stage}.last.pt")
        assert state["config"]["init"] == str(out / f"stage{stage - 1}.pt")
    assert load_checkpoint(last)["epoch"] == 1  # Stage I went on to its new max_epochs
