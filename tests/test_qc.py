"""Quality flags of predictions on new scans (lascar_ref/inference/qc.py; docs/design.md §10):
each suspicious input and each suspicious output is built and flagged, a realistic phantom stored
in LPS orientation is not, and the members' agreement is computed by hand."""

import math

import numpy as np
import pytest
from scipy import ndimage

from lascar_ref.data import make_phantom
from lascar_ref.data.orientation import to_ras
from lascar_ref.inference.qc import (
    LA_ML,
    MIN_MEMBER_DICE,
    input_flags,
    member_dice,
    member_flags,
    output_flags,
)

SPACING = (1.25, 1.25, 2.5)


@pytest.fixture(scope="module")
def phantom():
    return make_phantom(3, shape=(96, 96, 24), spacing=SPACING)


def lps(data: np.ndarray, spacing):
    """The array stored in LPS orientation (x and y flipped) and its affine."""
    affine = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    return data[::-1, ::-1, :].copy(), affine


def test_a_realistic_phantom_in_lps_orientation_has_no_flag(phantom):
    stored, affine = lps(phantom["image"].astype(np.float32), SPACING)
    ras, ras_spacing, _ = to_ras(stored, affine, SPACING)
    assert input_flags(ras, ras_spacing) == []
    masks = {"la": phantom["la"] > 0, "scar": phantom["scar"] > 0}  # the truth as a prediction
    assert output_flags(masks, SPACING) == []


def test_each_suspicious_input_is_flagged(phantom):
    image = phantom["image"].astype(np.float32)
    assert input_flags(np.zeros((96, 96, 24), np.float32), SPACING) == ["constant image"]
    noisy_constant = 100 + 1e-6 * np.random.default_rng(0).standard_normal((96, 96, 24))
    assert "constant image" in input_flags(noisy_constant, SPACING)
    # 10 x 10 x 10 mm: smaller than an atrium on every axis
    small = input_flags(image[:8, :8, :4], SPACING)
    assert small == ["field of view below 40 mm (X 10 mm, Y 10 mm, Z 10 mm)"]
    assert input_flags(image, (2.5, 2.5, 2.5)) == ["spacing 2.5 x 2.5 x 2.5 mm outside LGE ranges"]
    assert "outside LGE ranges" in input_flags(image, (1.25, 1.25, 8.0))[0]
    # a scan whose thick axis is X after RAS reorientation (a sagittal stack)
    thick = input_flags(image.transpose(2, 1, 0), (2.5, 1.25, 1.25))
    assert thick == [
        "spacing 2.5 x 1.25 x 1.25 mm outside LGE ranges",
        "thickest axis is X, not the slice axis Z",
    ]
    assert "thickest axis is X, not the slice axis Z" in input_flags(
        image.transpose(2, 1, 0), (1.8, 0.9, 0.9)
    )


def test_each_suspicious_output_is_flagged(phantom):
    la = phantom["la"] > 0
    voxel_ml = np.prod(SPACING) / 1000
    assert output_flags({"la": np.zeros_like(la)}, SPACING) == ["no LA"]
    tiny = np.zeros_like(la)
    tiny[40:44, 40:44, 10:12] = True  # 32 voxels = 0.125 ml
    assert output_flags({"la": tiny}, SPACING) == [
        f"LA {32 * voxel_ml:.1f} ml outside {LA_ML[0]:g}-{LA_ML[1]:g} ml"
    ]
    islands = la.copy()
    for x in (2, 8, 14):  # three extra blobs of 27 voxels (0.1 ml) in a corner, apart
        islands[x : x + 3, 2:5, 2:5] = True
    assert not any("fragmented" in f for f in output_flags({"la": islands}, SPACING))
    second = la.copy()  # a second "chamber" of 30% of the LA's volume, apart from it
    n_extra = int(0.3 / 0.7 * la.sum())
    corner = np.zeros_like(la)
    corner.reshape(-1)[np.flatnonzero(~ndimage.binary_dilation(la, iterations=3))[:n_extra]] = 1
    second |= corner
    share = 1 - la.sum() / second.sum()  # the LA is the largest piece (if the rest is one piece
    flags = output_flags({"la": second}, SPACING)  # or several, the share outside is >= this)
    assert any(f.startswith("LA fragmented (") for f in flags), flags
    assert share > 0.2
    far = np.zeros_like(la)
    far[0:6, 0:6, 0:6] = True  # scar in a corner, tens of mm from the LA
    flags = output_flags({"la": la, "scar": far}, SPACING)
    assert flags == ["100% of scar over 7.5 mm from the LA"]
    assert output_flags({"scar": far}, SPACING) == []  # no LA prediction: nothing to check


def test_member_agreement_by_hand():
    a = np.zeros((4, 4, 4), bool)
    a[:2] = True  # 32 voxels
    b = np.zeros_like(a)
    b[1:3] = True  # 32 voxels, 16 shared with a
    assert member_dice([a, b]) == pytest.approx(2 * 16 / 64)
    assert member_dice([a, a, b]) == pytest.approx((1.0 + 0.5 + 0.5) / 3)
    assert math.isnan(member_dice([a]))
    assert member_dice([np.zeros_like(a)] * 2) == 1.0
    assert member_flags({"la": 0.5, "scar": 0.9}) == [
        "members disagree on la (mean pairwise Dice 0.50)"
    ]
    assert member_flags({"la": math.nan, "scar": MIN_MEMBER_DICE["scar"]}) == []


def test_spacing_comes_from_the_affine_and_a_disagreeing_pixdim_is_flagged(tmp_path):
    """docs/design.md §10: the voxel sizes the affine implies are the geometry; a header pixdim
    that says otherwise is named in the scan's qc."""
    import nibabel as nib

    from lascar_ref.data import read_volume
    from lascar_ref.inference.qc import geometry_flags

    data = np.zeros((8, 8, 4), np.float32)
    affine = np.diag([0.625, 0.625, 2.5, 1.0])
    img = nib.Nifti1Image(data, affine)
    img.header.set_qform(None, code=0)
    img.header.set_sform(affine, code=1)  # the geometry: the sform
    img.header["pixdim"][1:4] = 1.0  # a pixdim edited by hand
    nib.save(img, str(tmp_path / "x.nii.gz"))
    v = read_volume(tmp_path / "x.nii.gz")
    assert v.spacing_mm == (0.625, 0.625, 2.5) and v.pixdim_mm == (1.0, 1.0, 1.0)
    assert geometry_flags(v.spacing_mm, v.pixdim_mm) == [
        "pixdim 1 x 1 x 1 mm disagrees with the affine's 0.625 x 0.625 x 2.5 mm (affine used)"
    ]
    assert geometry_flags((0.625, 0.625, 2.5), (0.625, 0.625, 2.5)) == []


def test_a_sagittal_stack_is_flagged_not_silently_thinned(phantom):
    """A scan stored sagittally (its thick 2.5 mm axis left-right): after RAS reorientation the
    thick axis is X, so the 2.5 mm target spacing on Z would thin a fine axis; it is flagged."""
    stack = phantom["image"].astype(np.float32)  # 96 x 96 x 24 voxels of 1.25 x 1.25 x 2.5 mm
    # stored axes: anterior, superior, right; the 2.5 mm stack axis runs left-right
    affine = np.array([[0, 0, 2.5, 0], [1.25, 0, 0, 0], [0, 1.25, 0, 0], [0, 0, 0, 1.0]])
    ras, ras_spacing, _ = to_ras(stack, affine, (1.25, 1.25, 2.5))
    assert ras.shape == (24, 96, 96) and ras_spacing == (2.5, 1.25, 1.25)
    assert input_flags(ras, ras_spacing) == [
        "spacing 2.5 x 1.25 x 1.25 mm outside LGE ranges",
        "thickest axis is X, not the slice axis Z",
    ]


def test_the_flip_check_is_judged_against_the_checkpoints_own_agreement():
    """With a reference (the checkpoint's median flip agreement on its validation scans) the flag
    fires below FLIP_REL x that median, whatever the fixed threshold says: a weak checkpoint
    (median 0.75) is not flagged at 0.70 although 0.70 < 0.8; a strong one (median 0.98) is
    flagged at 0.78 (< 0.8 x 0.98 = 0.784). Without a reference the fixed MIN_FLIP_DICE applies,
    and the flag says so."""
    from lascar_ref.inference.qc import FLIP_REL, MIN_FLIP_DICE, flip_flags

    assert FLIP_REL == 0.8 and MIN_FLIP_DICE["la"] == 0.8
    assert flip_flags({"la": 0.70}, {"la": 0.75}) == []  # 0.70 >= 0.8 x 0.75 = 0.60
    (flag,) = flip_flags({"la": 0.59}, {"la": 0.75})
    assert "0.59, below 0.8 x 0.75 on the checkpoint's validation scans" in flag
    (flag,) = flip_flags({"la": 0.78}, {"la": 0.98})  # 0.78 < 0.784
    assert "below 0.8 x 0.98" in flag
    assert flip_flags({"la": 0.79}, {"la": 0.98}) == []  # 0.79 >= 0.784
    (flag,) = flip_flags({"la": 0.70})  # no reference: the fixed threshold
    assert "below the fixed 0.8: the checkpoint records no reference" in flag
    assert flip_flags({"scar": 0.2}, {"la": 0.9}) == [  # a reference for another structure only
        "flips disagree on scar (mean pairwise Dice 0.20, below the fixed 0.3: the checkpoint "
        "records no reference)"
    ]
    assert flip_flags({"la": float("nan")}, {"la": 0.9}) == []
