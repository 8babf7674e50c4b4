"""Leak-free folds (lascar_ref/data/folds.py, data/fingerprint.py; docs/design.md §5): scans are
matched across tasks by content, whatever orientation, data type or scaling a copy is stored in."""

import nibabel as nib
import numpy as np
import pytest

from lascar_ref.data import PreprocessConfig, assign_folds, list_cases, preprocess_case, split
from lascar_ref.data.fingerprint import MATCH_CORR, correlation, fingerprint, match_scans


def synthetic_names():
    task1 = [f"task1/train_{i}" for i in range(1, 61)]
    task2 = [f"task2/train_{i}" for i in range(1, 131)]
    matches = {f"task1/train_{i}": f"task2/train_{(i * 7) % 130 + 1}" for i in range(1, 61)}
    return task1, task2, matches


def test_deterministic_and_balanced():
    t1, t2, m = synthetic_names()
    a, b = assign_folds(t1, t2, m, seed=3), assign_folds(t1, t2, m, seed=3)
    assert a == b and assign_folds(t1, t2, m, seed=4) != a
    f1, f2 = a
    assert sorted(list(f1.values()).count(k) for k in range(5)) == [12] * 5
    counts2 = [list(f2.values()).count(k) for k in range(5)]
    assert max(counts2) - min(counts2) <= 1


def test_no_leak_across_tasks():
    t1, t2, m = synthetic_names()
    f1, f2 = assign_folds(t1, t2, m, seed=0)
    for k in range(5):
        train2, _ = split(f2, k)
        _, val1 = split(f1, k)
        assert not set(train2) & {m[n] for n in val1}


def test_split_rejects_missing_fold():
    with pytest.raises(ValueError, match="fold 7"):
        split({"a": 0, "b": 1}, 7)


def _load(path):
    img = nib.load(str(path))
    return np.asarray(img.dataobj, dtype=np.float32), img.affine


def test_fingerprint_survives_orientation_dtype_and_scaling(tiny_dataset):
    case, other = list_cases(tiny_dataset, 1)[0], list_cases(tiny_dataset, 1)[1]
    data, affine = _load(case.image)
    ref = fingerprint(data, affine)
    flip_x = np.diag([-1.0, 1.0, 1.0, 1.0])
    flip_x[0, 3] = data.shape[0] - 1
    lps = (data[::-1].copy(), affine @ flip_x)  # same world image, X stored reversed (LPS-like)
    las = (np.transpose(data, (1, 0, 2)).copy(), affine[:, [1, 0, 2, 3]])  # axes swapped
    scaled = (np.round(data * 3.7 + 100).astype(np.int16), affine)  # another dtype and scaling
    for copy in (lps, las, scaled):
        assert correlation(ref, fingerprint(*copy)) >= MATCH_CORR
    assert correlation(ref, fingerprint(*_load(other.image))) < MATCH_CORR  # another phantom


def test_reoriented_copy_is_matched_and_shares_the_fold(tiny_dataset):
    t1 = {c.name: fingerprint(*_load(c.image)) for c in list_cases(tiny_dataset, 1)}
    t2 = {c.name: fingerprint(*_load(c.image)) for c in list_cases(tiny_dataset, 2)}
    name = sorted(t1)[0]
    twin = match_scans(t1, t2).matches[name][0]
    data, affine = _load(next(c.image for c in list_cases(tiny_dataset, 2) if c.name == twin))
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    flip[:2, 3] = np.array(data.shape[:2]) - 1
    t2[twin] = fingerprint(data[::-1, ::-1].copy(), affine @ flip)  # stored LPS instead of RAS
    report = match_scans(t1, t2)
    assert report.matches[name][0] == twin and not report.unmatched
    f1, f2 = assign_folds(list(t1), list(t2), {a: b for a, (b, _) in report.matches.items()}, 3)
    assert f2[twin] == f1[name]
    del t2[twin]  # no copy at all: reported and warned about, never silently matched elsewhere
    report = match_scans(t1, t2)
    assert report.unmatched == [name] and any(name in line for line in report.lines()[1:])


def test_phantom_scans_match_across_tasks(tmp_path, tiny_dataset):
    cfg = PreprocessConfig(size=(192, 192, 24))  # no crop of the 1.25 -> 0.625 mm upsampled LA
    pre = {
        t: {c.name: preprocess_case(c, tmp_path, cfg) for c in list_cases(tiny_dataset, t)}
        for t in (1, 2)
    }
    report = match_scans(
        {n: p.fingerprint for n, p in pre[1].items()}, {n: p.fingerprint for n, p in pre[2].items()}
    )
    assert len(report.matches) == len(pre[1]) and not report.unmatched
    for name1, (name2, corr) in report.matches.items():  # the phantom writer copies Task 1 scans
        assert pre[1][name1].meta["voxel_hash"] == pre[2][name2].meta["voxel_hash"] and corr > 0.999
