"""Is a new scan like the training images? (lascar_ref/inference/input_stats.py; docs/design.md
§10): the features by hand, the reference over volumes by hand, the flag at its threshold, and
a trained checkpoint that records its images and checks a scan against them."""

import math

import numpy as np
import pytest
import torch

from lascar_ref.checkpoints import load_checkpoint, save_checkpoint
from lascar_ref.checkpoints.export import main as export_cli
from lascar_ref.config import make_config
from lascar_ref.data import make_phantom
from lascar_ref.data.nifti_io import Volume
from lascar_ref.data.phantom import affine_for
from lascar_ref.inference.input_stats import (
    FEATURES,
    SD_FLOOR,
    Z_FLAG,
    features,
    ood_flags,
    reference,
)
from lascar_ref.inference.members import load_predictor
from lascar_ref.inference.whole_scan import predict_scan
from lascar_ref.training.fit import fit


def test_features_by_hand():
    ramp = np.broadcast_to(np.array([1.0, 2.0, 3.0, 4.0])[:, None, None], (4, 2, 3))
    f = features(ramp)
    # z-scored: (x - 2.5) / sqrt(1.25); neighbours along x: (0.75 - 0.25 + 0.75) / 1.25 / 3
    assert f["rho_x"] == pytest.approx(1 / 3)
    assert f["rho_y"] == pytest.approx(1.0) and f["rho_z"] == pytest.approx(1.0)  # copies
    assert f["q50"] == pytest.approx(0.0)
    assert f["tex_x"] == pytest.approx(math.log(2 / 3))  # log(1 - rho)
    assert f["tex_y"] == pytest.approx(math.log(1e-6))  # rho = 1: floored, finite
    # 24 values, six of each: numpy's linear rule puts q25 at rank 5.75, between a 1 and a 2
    assert f["q25"] == pytest.approx((1.75 - 2.5) / math.sqrt(1.25))
    assert f["q01"] == pytest.approx((1.0 - 2.5) / math.sqrt(1.25))
    assert all(math.isnan(v) for v in features(np.ones((3, 3, 3))).values())  # constant
    noise = features(np.random.default_rng(0).standard_normal((40, 40, 20)))
    assert max(abs(noise[f"rho_{a}"]) for a in "xyz") < 0.02
    assert noise["q50"] == pytest.approx(0.0, abs=0.02)


def test_reference_and_the_flag_at_its_threshold():
    rng = np.random.default_rng(1)
    volumes = [rng.standard_normal((10, 10, 10)) + k for k in range(3)]  # z-scored: shift-free
    ref = reference(volumes)
    table = np.array([[features(v)[n] for n in FEATURES] for v in volumes])
    assert ref["n"] == 3 and set(ref["features"]) == set(FEATURES)
    for j, name in enumerate(FEATURES):
        r = ref["features"][name]
        assert r["mean"] == pytest.approx(table[:, j].mean())
        assert r["sd"] == pytest.approx(table[:, j].std(ddof=1))
        assert (r["min"], r["max"]) == (table[:, j].min(), table[:, j].max())
    one = {"n": 1, "features": {n: {"mean": 0.0, "sd": 0.0, "min": 0, "max": 0} for n in FEATURES}}
    near = dict.fromkeys(FEATURES, 0.0)
    near["rho_z"] = 0.99 * Z_FLAG * SD_FLOOR  # the sd is floored at SD_FLOOR
    assert ood_flags(near, one) == []
    far = dict(near, rho_z=1.01 * Z_FLAG * SD_FLOOR)
    (flag,) = ood_flags(far, one)
    assert "rho_z" in flag and "unlike the training images" in flag
    undefined = dict.fromkeys(FEATURES, math.nan)
    assert "undefined" in ood_flags(undefined, one)[0]


def test_a_checkpoint_records_its_images_and_checks_a_scan(tmp_path, tiny_train):
    out = tmp_path / "run"
    fit(make_config(**dict(tiny_train, stage=1, out=str(out))), say=lambda *a: None)
    state = load_checkpoint(out / "stage1.pt")
    stats = state["input_stats"]
    assert stats["n"] >= 1 and set(stats["features"]) == set(FEATURES)
    shape, spacing = tiny_train["phantom_shape"], tiny_train["phantom_spacing"]
    image = make_phantom(99, shape, spacing)["image"].astype(np.float32)
    affine = affine_for(shape, spacing)

    def scan(data):
        return Volume(tmp_path / "s.nii.gz", data, affine, None, tuple(spacing))

    device = torch.device("cpu")
    predictor = load_predictor(out / "stage1.pt", device)
    assert predict_scan(scan(image), [predictor], device).input_check == "passed"
    noise = np.abs(np.random.default_rng(0).normal(500, 200, shape)).astype(np.float32)
    flagged = predict_scan(scan(noise), [predictor], device)
    assert flagged.input_check == "flagged"
    assert any("unlike the training images" in f for f in flagged.input_qc)
    del state["input_stats"]  # an older checkpoint; MONAI weights record none either
    save_checkpoint(state, tmp_path / "old.pt")
    old = predict_scan(scan(image), [load_predictor(tmp_path / "old.pt", device)], device)
    assert old.input_check.startswith("unchecked: no training-image statistics in")
    assert old.flip_agreement == {}
    assert export_cli([str(out / "stage1.pt"), str(tmp_path / "monai.pt")]) == 0
    monai = load_predictor(
        tmp_path / "monai.pt", device, "la", tiny_train["spacing_mm"], tiny_train["size"]
    )
    assert predict_scan(scan(image), [monai], device).input_check == (
        f"unchecked: no training-image statistics in {tmp_path / 'monai.pt'}"
    )
    checked = predict_scan(scan(image), [predictor], device, flip_check=True)
    assert set(checked.flip_agreement) == {"la"} and 0 <= checked.flip_agreement["la"] <= 1
    ref = state["flip_reference"]["la"]  # written at the end of training (flip_reference.py)
    assert ref["n"] >= 1 and 0 <= ref["min"] <= ref["median"] <= ref["max"] <= 1
    assert checked.flip_reference == {"la": ref["median"]}


def test_a_blurred_scan_is_far_out_in_texture_where_rho_saturates():
    """The blur that the lag-1 autocorrelation missed (bench/README.md: 0 of 12 flagged): rho of
    a phantom and of its 4 mm blur differ by ~0.1 (under Z_FLAG floored sds: no flag), log(1 - rho)
    by more than 1 (far beyond); a checkpoint that records only rho_* (written before tex_*)
    is checked on rho_* alone, never told its scan is "undefined"."""
    from scipy import ndimage

    shape, spacing = (96, 96, 24), (1.25, 1.25, 2.5)
    ref_images = [make_phantom(s, shape, spacing)["image"].astype(float) for s in (1, 2, 3)]
    ref = reference(ref_images)
    scan = make_phantom(4, shape, spacing)["image"].astype(float)
    blurred = ndimage.gaussian_filter(scan, [4 / s for s in spacing])
    f0, f1 = features(scan), features(blurred)
    assert max(abs(f1[f"rho_{a}"] - f0[f"rho_{a}"]) for a in "xy") < Z_FLAG * SD_FLOOR
    assert max(abs(f1[f"tex_{a}"] - f0[f"tex_{a}"]) for a in "xy") > 1.0
    assert ood_flags(f0, ref) == []
    (flag,) = ood_flags(f1, ref)
    assert "tex_" in flag
    old = {"n": ref["n"], "features": {k: v for k, v in ref["features"].items() if "tex" not in k}}
    assert ood_flags(f0, old) == []
