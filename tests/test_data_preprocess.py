"""Preprocessing and its cache (lascar_ref/data/preprocess.py, docs/design.md §5)."""

import shutil

import nibabel as nib
import numpy as np
import pytest

from lascar_ref.data import DataError, PreprocessConfig, list_cases, preprocess_case
from lascar_ref.data.orientation import to_ras
from lascar_ref.data.preprocess import crop_or_pad, resample
from lascar_ref.losses import wall_mask

CFG = PreprocessConfig(spacing_mm=(0.625, 0.625, 2.5), size=(160, 208, 24))


def test_resample_and_crop_geometry(tmp_path, tiny_dataset):
    case = list_cases(tiny_dataset, 1)[0]
    p = preprocess_case(case, tmp_path / "cache", CFG)
    # 96 x 96 x 24 at 1.25 x 1.25 x 2.5 mm -> 192 x
    # 192 x 24 at 0.625 mm, then crop X by 16, pad Y by 8
    assert p.meta["resampled_shape"] == [192, 192, 24] and p.meta["crop_start"] == [16, -8, 0]
    assert p.image.shape == p.la.shape == p.scar.shape == p.wall.shape == (160, 208, 24)
    assert abs(float(p.image.mean())) < 1e-3 and abs(float(p.image.std()) - 1) < 1e-3
    assert set(np.unique(p.la).tolist()) == {0, 1}  # 420 binarised
    stored = nib.load(str(case.la))
    raw_la = np.asarray(stored.dataobj) > 0
    raw_la = to_ras(raw_la, stored.affine, stored.header.get_zooms())[0]  # phantoms: A, L, S
    # nearest 2x upsampling in-plane: each raw LA voxel becomes 4 voxels (none cut by this crop)
    assert int(p.la.sum()) == 4 * int(raw_la.sum())
    assert np.array_equal(p.la[:, 8:200], np.repeat(np.repeat(raw_la, 2, 0), 2, 1)[16:176])
    assert np.array_equal(p.wall, wall_mask(np.asarray(p.la), CFG.spacing_mm).astype(np.uint8))


def test_crop_warning_names_the_case(tmp_path, tiny_dataset):
    case = list_cases(tiny_dataset, 1)[1]
    with pytest.warns(
        UserWarning, match=rf"{case.name}: the centre crop to \(64, 64, 16\) cuts \d+ LA voxels"
    ):
        preprocess_case(case, tmp_path / "cache", PreprocessConfig(size=(64, 64, 16)))


def test_cache_hit_reads_no_nifti(tmp_path, tiny_dataset, monkeypatch):
    case = list_cases(tiny_dataset, 2)[0]
    first = preprocess_case(case, tmp_path / "cache", CFG)
    monkeypatch.setattr(nib, "load", lambda *a, **k: pytest.fail("NIfTI read on a cache hit"))
    second = preprocess_case(case, tmp_path / "cache", CFG)
    assert isinstance(second.image, np.memmap) and np.array_equal(first.image, second.image)
    assert second.scar is None and second.meta["voxel_hash"] == first.meta["voxel_hash"]


def test_corrupt_case_leaves_other_caches_intact(tmp_path, tiny_dataset):
    root = tmp_path / "data"
    shutil.copytree(tiny_dataset, root)
    good, bad = list_cases(root, 1)[:2]
    cached = preprocess_case(good, tmp_path / "cache", CFG)
    raw = bad.image.read_bytes()
    bad.image.write_bytes(raw[:100])
    with pytest.raises(DataError, match=str(bad.image)):
        preprocess_case(bad, tmp_path / "cache", CFG)
    again = preprocess_case(good, tmp_path / "cache", CFG)
    assert np.array_equal(again.image, cached.image)
    assert not any(p.name.startswith(".tmp") for p in (tmp_path / "cache").iterdir())


def test_resample_identity_and_crop_pad_offsets():
    a = np.random.default_rng(0).random((10, 6, 4)).astype(np.float32)
    assert resample(a, (1, 1, 2), (1, 1, 2), label=False) is a
    out, starts = crop_or_pad(a, (6, 10, 4), fill=-1.0)
    assert starts == [2, -2, 0]
    assert np.array_equal(out[:, 2:8], a[2:8]) and (out[:, :2] == -1).all()
