"""Figures (lascar_ref/evaluation/figures.py; optional viz extra): a Fig. 3-like PNG of the
expected pixel size that is not blank, training curves, and a one-line message without
matplotlib."""

import builtins
import json

import numpy as np
import pytest

from lascar_ref.evaluation.figures import (
    DPI,
    PANEL_INCHES,
    case_panels,
    require_matplotlib,
    save_panels,
    training_curves,
)


def test_case_figure_size_and_content(tmp_path):
    plt = require_matplotlib()
    gt = {"la": np.zeros((20, 20, 6), bool), "scar": np.zeros((20, 20, 6), bool)}
    gt["la"][5:15, 5:15, 1:5] = True
    gt["scar"][5:7, 5:15, 3] = True  # most scar on slice 3
    image = np.random.default_rng(0).normal(size=(20, 20, 6))
    half = gt["scar"].copy()
    half[6] = False  # 10 of the 20 scar voxels: Dice 2 * 10 / (20 + 10)
    preds = [("I", "la", gt["la"]), ("I+II", "scar", gt["scar"]), ("I+II+III", "scar", half)]
    panels = case_panels(image, gt, preds)
    assert [p[0] for p in panels] == [
        "LGE",
        "LA GT",
        "I (Dsc 1.00)",
        "scar GT",
        "I+II (Dsc 1.00)",
        "I+II+III (Dsc 0.67)",
    ]
    assert np.array_equal(panels[3][1], gt["scar"][..., 3])
    path = save_panels(panels, tmp_path / "case.png", "task1/train_1")
    pixels = plt.imread(str(path))
    assert pixels.shape[:2] == (PANEL_INCHES * DPI, PANEL_INCHES * DPI * len(panels))
    assert pixels[..., :3].std() > 0.05  # not blank


def test_training_curves(tmp_path):
    plt = require_matplotlib()
    log = tmp_path / "stage2.log.jsonl"
    records = [{"event": "start"}] + [
        {
            "epoch": e,
            "loss": 1 / (e + 1),
            "la": 0.5,
            "scar": 0.7,
            "alpha_t": e / 3,
            "val_la_dice": 0.8,
            "val_scar_dice": 0.3,
        }
        for e in range(4)
    ]
    log.write_text("\n".join(json.dumps(r) for r in records))
    path = training_curves(log, tmp_path)
    assert path.name == "stage2_curves.png" and plt.imread(str(path))[..., :3].std() > 0.05


def test_without_matplotlib_a_one_line_message(monkeypatch):
    real = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"^figures need matplotlib: pip install -e '\.\[viz\]'$"):
        require_matplotlib()
