"""Synthetic LGE phantoms (lascar_ref/data/phantom.py, docs/design.md §7)."""

import filecmp

import numpy as np
import pytest
from scipy import ndimage

from lascar_ref.data import list_cases, make_phantom, read_volume, write_phantom_dataset
from lascar_ref.losses import wall_mask

SPACING = (1.0, 1.0, 2.5)
SHAPE = (128, 128, 32)


@pytest.fixture(scope="module", params=[1, 2, 3])
def phantom(request):
    return make_phantom(request.param, SHAPE, SPACING)


def test_la_volume_in_ml(phantom):
    ml = (phantom["la"] > 0).sum() * np.prod(SPACING) / 1000
    assert 30 <= ml <= 130  # real LGE: 32-126 ml (docs/design.md §7)
    assert set(np.unique(phantom["la"]).tolist()) == {0, 420}


def test_wall_thickness_2_to_3_mm(phantom):
    d = ndimage.distance_transform_edt(~phantom["la_blood"], sampling=SPACING)  # mm from LA blood
    wall = phantom["wall"]
    assert d[wall].min() > 0 and 2.0 <= d[wall].max() <= 3.0
    shell = (d > 0) & (
        d <= 2.0
    )  # the first 2 mm around the LA are wall, except where the LV/aorta touch
    assert (wall & shell).sum() >= 0.85 * shell.sum()


def test_scar_in_the_wall_brighter_than_blood_with_label_noise(phantom):
    la = phantom["la"] > 0
    scar_true, label = phantom["scar_true"], phantom["scar"] > 0
    assert scar_true.any() and (scar_true & ~phantom["wall"]).sum() == 0
    img = phantom["image"].astype(float)
    # thin and fragmented, the scar loses contrast to partial volume (2.5 mm slices), as in real
    # LGE; on average it stays brighter than the blood pool and far brighter than healthy wall
    assert img[scar_true].mean() > img[la].mean()
    assert img[scar_true].mean() > 1.5 * img[phantom["wall"] & ~scar_true].mean()
    noise = label & ~scar_true
    assert (noise & la).any() and (noise & ~la & ~phantom["wall"]).any()  # Fig. 2 annotation noise
    d_la = ndimage.distance_transform_edt(~la, sampling=SPACING)
    assert d_la[scar_true].max() <= 3.0  # true scar: in the wall around the labelled LA
    band = wall_mask(la, SPACING)  # Eq. 6 holds all of the true scar, little of the noise
    assert not (scar_true & ~band).any()
    assert (noise & band).sum() <= 0.25 * noise.sum()


def test_no_global_threshold_segments_the_la(phantom):
    la = phantom["la"] > 0
    img = phantom["image"]
    best = 0.0
    for t in np.percentile(img, np.linspace(50, 99.5, 60)):
        seg = img > t
        best = max(best, 2 * (seg & la).sum() / (seg.sum() + la.sum()))
    assert best < 0.8


def test_dataset_layout_task2_contains_task1_and_is_deterministic(tmp_path, tiny_dataset):
    t1, t2 = list_cases(tiny_dataset, 1), list_cases(tiny_dataset, 2)
    assert len(t1) == 3 and len(t2) == 5
    h2 = {read_volume(c.image).data.tobytes() for c in t2}
    assert all(read_volume(c.image).data.tobytes() in h2 for c in t1)
    again = write_phantom_dataset(
        tmp_path / "again",
        n_task1=3,
        n_task2_only=2,
        shape=(96, 96, 24),
        spacing=(1.25, 1.25, 2.5),
        seed=7,
    )
    for case in t1 + t2:
        for path in (case.image, case.la, case.scar):
            if path is not None:
                assert filecmp.cmp(path, again / path.relative_to(tiny_dataset), shallow=False), (
                    path
                )


def test_noise_sigma_scales_with_the_voxel_volume():
    """White noise: sigma x sqrt(reference voxel / voxel) — exact by hand on three grids."""
    from lascar_ref.data.phantom_style import DEFAULT_STYLE, noise_sigma_for

    a, b = DEFAULT_STYLE.noise_sigma
    assert noise_sigma_for(DEFAULT_STYLE, (1.25, 1.25, 2.5)) == (a, b)  # the reference voxel
    assert noise_sigma_for(DEFAULT_STYLE, (0.625, 0.625, 2.5)) == pytest.approx((2 * a, 2 * b))
    assert noise_sigma_for(DEFAULT_STYLE, (2.5, 2.5, 2.5)) == pytest.approx((a / 2, b / 2))


def test_a_finer_grid_is_not_an_easier_phantom():
    """The same field of view on a 2x finer in-plane grid: the voxel noise (robust std of
    neighbour differences along x, where the blurred anatomy changes little) is about twice as
    large (Rician in the lung and int16 rounding pull it below 2), as a scanner's would be; with a
    per-voxel sigma it would be about equal."""
    from lascar_ref.data.phantom_style import PhantomStyle

    style = PhantomStyle(noise_sigma=(0.08, 0.08))

    def voxel_noise(shape, spacing):
        image = make_phantom(3, shape, spacing, style)["image"].astype(np.float64) / 400
        d = np.diff(image, axis=0)
        return np.median(np.abs(d)) / 0.6745 / np.sqrt(2)

    coarse = voxel_noise((96, 96, 24), (1.25, 1.25, 2.5))
    fine = voxel_noise((192, 192, 24), (0.625, 0.625, 2.5))
    assert 1.5 <= fine / coarse <= 2.3, (coarse, fine)  # measured 1.73; per-voxel sigma: 0.94


def test_another_label_noise_rate_changes_the_label_only():
    """The testbed's noise rates (bench/bench_prior_claim.py): the same seed at label_noise 0,
    the default and 3x the default gives a byte-identical image, LA and true scar; the label is
    the true scar alone at 0, the default's label at its own rate, and a superset of the
    default's (its blobs kept) with about the asked-for share of noise above it."""
    shape, spacing = (96, 96, 24), (1.25, 1.25, 2.5)
    base = make_phantom(2, shape, spacing)
    at = {r: make_phantom(2, shape, spacing, label_noise=r) for r in (0.0, 0.08, 0.24)}
    for p in at.values():
        for key in ("image", "la", "scar_true", "wall", "enhancing"):
            assert np.array_equal(p[key], base[key]), key
    true = base["scar_true"]
    assert np.array_equal(at[0.0]["scar"] > 0, true)
    assert np.array_equal(at[0.08]["scar"], base["scar"])
    high, default = at[0.24]["scar"] > 0, base["scar"] > 0
    assert (high >= default).all() and high.sum() > default.sum()
    share = (high & ~true).sum() / high.sum()
    assert 0.22 <= share <= 0.30, share  # blobs of 1.5-2.5 mm overshoot the target a little
    with pytest.raises(ValueError, match="label_noise 0.04"):
        make_phantom(2, shape, spacing, label_noise=0.04)


def test_the_truth_folder_holds_true_scar_and_confounders(tmp_path):
    """write_phantom_dataset(truth=...) writes what make_phantom returns and nothing else
    changes: the dataset's files are those of a run without truth."""
    shape, spacing = (64, 64, 16), (1.25, 1.25, 2.5)
    a = write_phantom_dataset(tmp_path / "a", 2, 1, shape, spacing, seed=3)
    b = write_phantom_dataset(tmp_path / "b", 2, 1, shape, spacing, seed=3, truth=tmp_path / "t")
    for case in ("train_1", "train_2"):
        d = f"task1/train_data/{case}"
        for f in ("enhanced.nii.gz", "atriumSegImgMO.nii.gz", "scarSegImgM.nii.gz"):
            assert filecmp.cmp(a / d / f, b / d / f, shallow=False)
        p = make_phantom(3 * 100_003 + int(case[-1]) - 1, shape, spacing)
        true = read_volume(tmp_path / "t" / case / "scar_true.nii.gz").data
        enh = read_volume(tmp_path / "t" / case / "enhancing.nii.gz").data
        assert np.array_equal(true > 0, p["scar_true"]) and np.array_equal(enh > 0, p["enhancing"])
        assert true.shape == shape
