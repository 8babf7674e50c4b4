"""Evaluation pieces (lascar_ref/evaluation/evaluate.py,
data/preprocess.to_original_grid; docs/design.md §5-§6)."""

import math

import nibabel as nib
import numpy as np

from lascar_ref.data import PreprocessConfig, list_cases, preprocess_case
from lascar_ref.data.preprocess import to_original_grid
from lascar_ref.evaluation.metrics import case_metrics
from lascar_ref.evaluation.tables import table2


def test_label_round_trip_to_the_original_grid(tmp_path, tiny_dataset):
    # 1.25 mm -> 0.625 mm (x2 in-plane), centre crop in
    # X and pad in Y, then back: overlays the original
    case = list_cases(tiny_dataset, 1)[0]
    cfg = PreprocessConfig(spacing_mm=(0.625, 0.625, 2.5), size=(176, 208, 24))
    p = preprocess_case(case, tmp_path, cfg)
    back = to_original_grid(np.asarray(p.la, dtype=np.float32), p.meta) > 0.5
    original = np.asarray(nib.load(str(case.la)).dataobj) > 0
    assert back.shape == original.shape
    assert case_metrics(back, original, (1.25, 1.25, 2.5))["dice"] >= 0.98
    coarse = PreprocessConfig(
        spacing_mm=(1.875, 1.875, 2.5), size=(64, 64, 32)
    )  # a non-integer factor
    q = preprocess_case(case, tmp_path, coarse)
    back = to_original_grid(np.asarray(q.la, dtype=np.float32), q.meta) > 0.5
    assert case_metrics(back, original, (1.25, 1.25, 2.5))["dice"] >= 0.9


def test_table2_layout():
    rows = [
        {"structure": "la", "dice": 0.9, "hd": 8.0, "asd": 2.0},
        {"structure": "la", "dice": 0.92, "hd": 9.0, "asd": 2.4},
        {"structure": "scar", "dice": 0.5, "hd": 20.0, "asd": 4.0, "diagonal_mm": 150.0},
        {"structure": "scar", "dice": 0.0, "hd": math.nan, "asd": math.nan, "diagonal_mm": 150.0},
    ]
    text = table2([("I", rows[:2]), ("I+II", rows)]).splitlines()
    assert text[0] == "LA cavity segmentation"
    assert text[2].split()[:5] == ["I", "2", "0.91", "±", "0.01"]
    assert text[4] == "LA scar segmentation"
    assert text[6].split() == ["I", "-", "-", "-", "-"]
    # an empty scar prediction: HD and ASD count the diagonal (150 mm), the count, the median
    # (of 20 and 150: 85) and the defined-only mean beside it; the row averages both cases
    assert text[7].split()[:5] == ["I+II", "2", "0.25", "±", "0.35"]
    assert "85.00 ± 91.92 (1 empty, penalised; median 85.00; defined only 20.00, n = 1)" in text[7]
    assert "77.00 ± 103.24 (1 empty, penalised; median 77.00; defined only 4.00, n = 1)" in text[7]
    assert not any("LA surface" in line for line in text)  # no surface scores in these rows
    surf = [dict(r, surface_dice=0.6, surface_gdice=0.8, surface_sen=0.5, surface_spe=0.9)
            for r in rows[2:]]  # fmt: skip
    lines = table2([("I+II", surf)]).splitlines()
    head = lines.index("LA scar on the LA surface (LAScarQS 2022 protocol)")
    assert lines[head + 1].split()[:5] == ["Stage", "n", "surface", "Dsc", "G-Dsc"]
    assert lines[head + 2].split()[:5] == ["I+II", "2", "0.60", "±", "0.00"]
    one = table2([("I", rows[2:3])]).splitlines()[5]  # one case: its std is undefined, shown so
    assert one.split()[:5] == ["I", "1", "0.50", "±", "n/a"] and "penalised" not in one
