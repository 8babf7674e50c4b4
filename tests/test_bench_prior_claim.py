"""The wall prior's testbed (bench/bench_prior_claim.py; docs/design.md §3, §7): its measures by
hand, its protocols kept apart, the primary comparison first and the only one so named."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import bench_prior_claim as claim  # noqa: E402
import prior_ledger  # noqa: E402


def case(pred, label, true, enhancing, band, voxel_ml=0.5):
    """One scan of the testbed's measures, each mask a row of voxels (N, 1, 1) bool."""
    masks = dict(pred=pred, label=label, true=true, enhancing=enhancing, band=band)
    return {k: np.array(v, dtype=bool)[:, None, None] for k, v in masks.items()} | {
        "voxel_ml": voxel_ml
    }


def test_claim_scores_by_hand():
    """Two scans of 6 voxels. Scan A predicts voxels 0-3: 0, 1 in the band (0 true scar, 1 label
    noise there), 2 on a confounder outside the band, 3 outside the band on nothing. Scan B (1 ml
    voxels) predicts voxel 5 on a confounder outside the band and has true scar at 4 only."""
    a = case(
        pred=[1, 1, 1, 1, 0, 0],
        label=[1, 1, 0, 0, 0, 0],
        true=[1, 0, 0, 0, 0, 0],
        enhancing=[0, 0, 1, 0, 0, 0],
        band=[1, 1, 0, 0, 0, 0],
    )
    b = case(
        pred=[0, 0, 0, 0, 0, 1],
        label=[0, 0, 0, 0, 1, 0],
        true=[0, 0, 0, 0, 1, 0],
        enhancing=[0, 0, 0, 0, 0, 1],
        band=[0, 0, 0, 0, 1, 0],
        voxel_ml=1.0,
    )
    s = claim.claim_scores([a, b])
    assert s["confounder_share"] == pytest.approx(2 / 5)  # pooled voxels: 2 of 5 predicted
    assert s["confounder_ml"] == pytest.approx(0.5 + 1.0)
    assert s["outside_share"] == pytest.approx(3 / 5)  # A: 2, 3; B: 5
    assert s["outside_ml"] == pytest.approx(2 * 0.5 + 1.0)
    assert s["predicted_ml"] == pytest.approx(4 * 0.5 + 1.0)
    # Dice per scan, then the mean: A vs label 2*2/(4+2), B 0; A vs true 2*1/(4+1), B 0
    assert s["dice_label"] == pytest.approx((4 / 6 + 0) / 2)
    assert s["dice_true"] == pytest.approx((2 / 5 + 0) / 2)
    assert s["n_cases"] == 2


def test_nothing_predicted_is_undefined_not_zero():
    empty = case([0, 0], [1, 0], [1, 0], [0, 1], [1, 0])
    s = claim.claim_scores([empty])
    assert math.isnan(s["confounder_share"]) and math.isnan(s["outside_share"])
    assert s["confounder_ml"] == 0 and s["dice_label"] == 0


def test_pilot_and_testbed_are_different_protocols():
    pilot, testbed = claim.protocol(True), claim.protocol(False)
    assert prior_ledger.protocol_sha256(pilot) != prior_ledger.protocol_sha256(testbed)
    assert list(pilot["arms"]) == ["alpha0", "ramp"] and list(pilot["rates"]) == ["default"]
    assert list(testbed["arms"]) == ["alpha0", "ramp", "suppress"]
    assert testbed["rates"] == {"none": 0.0, "default": 0.08, "high": 0.24}
    assert testbed["stages"]["2"]["wall_weighting"] == "paper"  # the arm's flag does the rest
    assert claim.ARMS["suppress"] == ["--wall-weighting", "suppress"]


def records(values: dict) -> list[dict]:
    """Records of one metric set: values[(arm, seed, fold)] = confounder share."""
    out = []
    for (arm, seed, fold), v in values.items():
        r = {m: 0.5 for m in claim.METRICS}
        r.update(arm=arm, rate="default", seed=seed, fold=fold, confounder_share=v)
        out.append(r)
    return out


def test_the_primary_comparison_is_first_and_over_seed_means():
    """ramp - alpha0 of the confounder share at the default rate, the seed the unit: seed 0's
    folds differ by -0.10 and -0.20 (mean -0.15), seed 1's by -0.05 and -0.15 (mean -0.10)."""
    v = {
        ("ramp", 0, 0): 0.20, ("alpha0", 0, 0): 0.30,
        ("ramp", 0, 1): 0.10, ("alpha0", 0, 1): 0.30,
        ("ramp", 1, 0): 0.25, ("alpha0", 1, 0): 0.30,
        ("ramp", 1, 1): 0.15, ("alpha0", 1, 1): 0.30,
    }  # fmt: skip
    found = claim.comparisons(records(v))
    label, c = found[0]
    assert label == "PRIMARY" and [x for x, _ in found].count("PRIMARY") == 1
    assert c["n_units"] == 2 and c["mean_units"] == pytest.approx(-0.125)
    assert c["unit_diffs"] == pytest.approx({"0": -0.15, "1": -0.10})
    assert all(x.startswith("exploratory") for x, _ in found[1:])
    # the seeds a 0.05 difference needs at sd = 0.0354 (and at its upper bound), never < 3
    need = claim.seeds_needed(c).split(" / ")
    assert int(need[0]) >= claim.MIN_SEEDS and int(need[1]) >= int(need[0])
