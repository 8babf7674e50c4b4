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
    case_figures,
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
    assert np.array_equal(panels[3][1], image[..., 3])  # every panel: the LGE slice ...
    assert np.array_equal(panels[3][2][0][0], gt["scar"][..., 3])  # ... with its masks over it
    assert [k for _, k, _ in panels[5][2]] == ["scar_gt", "scar"]
    path = save_panels(panels, tmp_path / "case.png", "task1/train_1")
    pixels = plt.imread(str(path))
    assert pixels.shape[:2] == (PANEL_INCHES * DPI, PANEL_INCHES * DPI * len(panels))
    assert pixels[..., :3].std() > 0.05  # not blank
    red = (pixels[..., 0] > 0.6) & (pixels[..., 1] < 0.4) & (pixels[..., 2] < 0.4)
    assert red.sum() > 20  # the predicted scar is drawn over the image in colour


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


def test_scan_figure_three_slices_through_the_la(tmp_path):
    """predict.py --figures: axial, coronal, sagittal through the LA's centre, LA contour in
    green, scar filled in red, over the grey image; the slices cut the LA."""
    from lascar_ref.data import make_phantom
    from lascar_ref.inference.overlay import centre_of, scan_figure

    plt = require_matplotlib()
    ph = make_phantom(3, shape=(96, 96, 24), spacing=(1.25, 1.25, 2.5))
    la, scar = ph["la"] > 0, ph["scar"] > 0
    centre = centre_of(la, la.shape)
    assert la[centre] and centre_of(None, (10, 20, 30)) == (5, 10, 15)
    path = scan_figure(ph["image"].astype(np.float32), {"la": la, "scar": scar},
                       (1.25, 1.25, 2.5), "phantom 3\nqc: -", tmp_path / "p.png")  # fmt: skip
    pixels = plt.imread(str(path))[..., :3]
    assert pixels.shape[:2] == (int(2.9 * DPI), 3 * PANEL_INCHES * DPI)
    green = (pixels[..., 1] > 0.45) & (pixels[..., 0] < 0.35) & (pixels[..., 2] < 0.35)
    assert green.sum() > 100 and pixels.std() > 0.05


def test_a_truncated_metrics_file_is_named_not_a_json_traceback(tmp_path):
    (tmp_path / "stage3").mkdir()
    (tmp_path / "stage3" / "metrics.json").write_text('{"cases": [{"case"')
    with pytest.raises(ValueError, match=r"stage3/metrics.json: unreadable .*re-run eval.py"):
        case_figures([(tmp_path / "stage3.pt", {"stage": 3})], tmp_path)
