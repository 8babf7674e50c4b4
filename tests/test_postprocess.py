"""Postprocessing chosen on the validation folds (lascar_ref/inference/postprocess.py,
evaluation/postprocess_choice.py; docs/design.md §10): each candidate by hand, a candidate kept
only when it does not lower the mean Dice, the choice read back from a recipe folder's files and
applied by predict.py."""

import json

import numpy as np
import pytest

from lascar_ref.data import write_volume
from lascar_ref.evaluation.postprocess_choice import (
    FILE,
    choose,
    choose_for_recipe,
    runs_choice,
    stored_choice,
)
from lascar_ref.inference.postprocess import apply, largest_component, near_la

SPACING = (1.0, 1.0, 2.0)


def blobs():
    la = np.zeros((20, 20, 10), bool)
    la[2:10, 2:10, 2:8] = True  # 384 voxels: the atrium
    extra = np.zeros_like(la)
    extra[15:17, 15:17, 2:4] = True  # 8 voxels apart: a false positive
    return la, extra


def test_largest_component_and_near_la_by_hand():
    la, extra = blobs()
    assert np.array_equal(largest_component(la | extra), la)
    assert not largest_component(np.zeros_like(la)).any()
    scar = np.zeros_like(la)
    scar[10, 5, 4] = True  # 1 mm from the LA (x = 9 is LA)
    scar[14, 5, 4] = True  # 5 mm: kept (<= 5 mm)
    scar[15, 5, 4] = True  # 6 mm: dropped
    kept = near_la(scar, la, SPACING)
    assert kept.sum() == 2 and kept[10, 5, 4] and kept[14, 5, 4] and not kept[15, 5, 4]
    assert not near_la(scar, np.zeros_like(la), SPACING).any()  # no LA: no scar near it
    out = apply({"la": la | extra, "scar": scar}, {"la": "largest_component"}, SPACING)
    assert np.array_equal(out["la"], la) and np.array_equal(out["scar"], scar)  # scar: none


def case(pred, gt):
    return {"case": "c", "spacing": SPACING, "pred": pred, "gt": gt}


def test_a_candidate_is_kept_only_when_it_does_not_lower_the_mean_dice():
    la, extra = blobs()
    scar = np.zeros_like(la)
    scar[10, 2:10, 4] = True  # on the LA's border
    far = np.zeros_like(la)
    far[18, 18, 8] = True  # a true scar voxel far from the LA (annotation noise, say)
    cases = [
        case({"la": la | extra, "scar": scar | far}, {"la": la, "scar": scar | far}),
        case({"la": la, "scar": scar}, {"la": la, "scar": scar}),
    ]
    result = choose(cases)
    d_extra = 2 * 384 / (392 + 384)  # Dice with the 8-voxel false positive
    assert result["la"]["mean_dice"]["none"] == pytest.approx((d_extra + 1) / 2)
    assert result["la"]["mean_dice"]["largest_component"] == 1.0
    assert result["la"]["choice"] == "largest_component" and result["la"]["n"] == 2
    # near_la drops the far true voxel of case 1: lower mean Dice, so "none" stays
    d_near = 2 * 8 / (8 + 9)
    assert result["scar"]["mean_dice"]["near_la"] == pytest.approx((d_near + 1) / 2)
    assert result["scar"]["choice"] == "none"
    tie = choose([case({"la": la, "scar": scar}, {"la": la, "scar": scar})])
    assert tie["la"]["choice"] == "none"  # equal Dice: nothing is changed


def test_the_choice_is_read_from_a_recipe_folder_and_applied_by_predict(tmp_path):
    la, extra = blobs()
    affine = np.diag([*SPACING, 1.0])
    recipe = tmp_path / "runs" / "full"
    gt_la, gt_scar = tmp_path / "gt_la.nii.gz", tmp_path / "gt_scar.nii.gz"
    write_volume(gt_la, la.astype(np.uint8), affine)
    write_volume(gt_scar, np.zeros_like(la, np.uint8), affine)
    stage = recipe / "fold0" / "eval" / "stage2"
    (stage / "predictions").mkdir(parents=True)
    sources = {"task1/train_1": {"image": "-", "la": str(gt_la), "scar": str(gt_scar)}}
    (stage / "metrics.json").write_text(json.dumps({"cases": [], "sources": sources}))
    for name, mask in (("la", la | extra), ("scar", np.zeros_like(la))):
        write_volume(stage / "predictions" / f"task1_train_1_{name}.nii.gz",
                     mask.astype(np.uint8), affine)  # fmt: skip
    result = choose_for_recipe(recipe, n_folds=2)  # fold 1 absent: scored on what exists
    assert result["la"]["choice"] == "largest_component" and result["la"]["n"] == 1
    assert json.loads((recipe / FILE).read_text()) == result
    assert stored_choice(recipe) == {"la": "largest_component", "scar": "none"}
    assert stored_choice(tmp_path) == {}
    assert runs_choice([str(recipe)]) == {"la": "largest_component"}  # what predict.py applies
    assert runs_choice([str(tmp_path / "stage3.pt")]) == {}


def test_the_choice_is_scored_on_the_fold_it_did_not_see():
    """In sample, largest_component wins on all cases pooled (+0.25 on fold 0's two cases against
    -0.05 on fold 1's); held out, fold 1 is scored with the choice of fold 0 (largest_component)
    and fold 0 with the choice of fold 1 (none), so the held-out gain is negative."""
    la, extra = blobs()
    split = la.copy()
    split[2:10, 2:10, 2:4] = False  # 256 voxels left ...
    tiny = extra  # ... and a true 8-voxel island apart from it, which a largest component drops
    split_gt = split | tiny
    far = np.zeros_like(la)
    far[12:15, 2:5, 2:8] = True  # a 54-voxel false positive, two voxels away from the LA
    cases = [
        case({"la": la | far}, {"la": la}) | {"fold": 0},  # largest_component removes `far`
        case({"la": la | far}, {"la": la}) | {"fold": 0},
        case({"la": split | tiny}, {"la": split_gt}) | {"fold": 1},  # it drops a true island
        case({"la": split | tiny}, {"la": split_gt}) | {"fold": 1},
    ]
    result = choose(cases)["la"]
    assert result["choice"] == "largest_component"
    d_far = 2 * 384 / (384 + 54 + 384)  # fold 0 without postprocessing
    d_drop = 2 * 256 / (256 + 264)  # fold 1 with the island dropped
    assert result["mean_dice"]["none"] == pytest.approx((2 * d_far + 2) / 4)
    assert result["mean_dice"]["largest_component"] == pytest.approx((2 + 2 * d_drop) / 4)
    cv = result["held_out"]
    # fold 0 chosen on fold 1: none (1.0 > d_drop); fold 1 chosen on fold 0: largest_component
    assert cv["choices"] == {"0": "none", "1": "largest_component"} and cv["n"] == 4
    assert cv["none"] == pytest.approx(result["mean_dice"]["none"])
    assert cv["chosen"] == pytest.approx((2 * d_far + 2 * d_drop) / 4)
    assert cv["chosen"] < cv["none"] < result["mean_dice"]["largest_component"]
    assert choose(cases[:2])["la"]["held_out"] is None  # one fold: nothing to choose on
