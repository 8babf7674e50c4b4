"""End to end through the real entry points (subprocess): Stage I -> II -> III -> eval on tiny
phantoms, with the users' verbatim commands; files written where documented (docs/design.md §2)."""

import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from conftest import tiny_cli

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
        ],
        tmp_path,
    )
    assert "loaded: E, D_LA; new (random init): D_scar" in log2
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
    assert {"la", "scar", "la_dice", "scar_ce", "val_scar_dice", "val_la_dice"} <= set(records[0])
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
