"""Leak-free folds (lascar_ref/data/folds.py, data/groups.py, data/fingerprint.py; docs/design.md
§5): copies of a scan are grouped by content, whatever orientation, data type or scaling a copy is
stored in, and whole groups are dealt into folds."""

import nibabel as nib
import numpy as np
import pytest

from lascar_ref.data import PreprocessConfig, assign_folds, list_cases, preprocess_case, split
from lascar_ref.data.fingerprint import MATCH_CORR, correlation, fingerprint
from lascar_ref.data.groups import group_scans


def synthetic_names():
    task1 = [f"task1/train_{i}" for i in range(1, 61)]
    task2 = [f"task2/train_{i}" for i in range(1, 131)]
    matches = {f"task1/train_{i}": f"task2/train_{(i * 7) % 130 + 1}" for i in range(1, 61)}
    return task1, task2, matches


def pairs(matches):
    return [[a, b] for a, b in matches.items()]


def test_deterministic_and_balanced():
    t1, t2, m = synthetic_names()
    a, b = assign_folds(t1, t2, pairs(m), seed=3), assign_folds(t1, t2, pairs(m), seed=3)
    assert a == b and assign_folds(t1, t2, pairs(m), seed=4) != a
    assert sorted([a[n] for n in t1].count(k) for k in range(5)) == [12] * 5
    counts2 = [[a[n] for n in t2].count(k) for k in range(5)]
    assert max(counts2) - min(counts2) <= 1


def test_no_leak_across_tasks():
    t1, t2, m = synthetic_names()
    folds = assign_folds(t1, t2, pairs(m), seed=0)
    for k in range(5):
        train2, _ = split({n: folds[n] for n in t2}, k)
        _, val1 = split({n: folds[n] for n in t1}, k)
        assert not set(train2) & {m[n] for n in val1}


def test_without_copies_the_deal_is_round_robin_of_the_shuffled_task1_names():
    """The documented rule, so folds made before grouping existed are unchanged: Task 1 names
    sorted, shuffled with random.Random(seed), dealt i % n_folds; each copy takes its scan's
    fold."""
    import random

    t1, t2, m = synthetic_names()
    order = sorted(t1)
    random.Random(5).shuffle(order)
    folds = assign_folds(t1, t2, pairs(m), n_folds=5, seed=5)
    assert {n: folds[n] for n in t1} == {n: i % 5 for i, n in enumerate(order)}
    assert all(folds[m[n]] == folds[n] for n in t1)


def test_a_group_never_spans_folds_and_counts_as_its_task1_scans():
    t1 = [f"task1/train_{i}" for i in range(1, 11)]
    t2 = [f"task2/train_{i}" for i in range(1, 21)]
    groups = [
        ["task1/train_1", "task1/train_2", "task2/train_1", "task2/train_2"],  # copies in both
        ["task2/train_3", "task2/train_4", "task2/train_5"],  # copies inside Task 2
    ]
    for seed in range(20):
        folds = assign_folds(t1, t2, groups, n_folds=3, seed=seed)
        assert set(folds) == set(t1) | set(t2)
        for g in groups:
            assert len({folds[n] for n in g}) == 1
        counts1 = [[folds[n] for n in t1].count(k) for k in range(3)]
        assert max(counts1) - min(counts1) <= 2  # a group of 2 Task 1 scans is dealt whole


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


def test_reoriented_copy_is_grouped_and_shares_the_fold(tiny_dataset):
    t1 = {c.name: fingerprint(*_load(c.image)) for c in list_cases(tiny_dataset, 1)}
    t2 = {c.name: fingerprint(*_load(c.image)) for c in list_cases(tiny_dataset, 2)}
    tasks = {**dict.fromkeys(t1, 1), **dict.fromkeys(t2, 2)}
    name = sorted(t1)[0]
    twin = next(g for g in group_scans({**t1, **t2}, tasks).members if name in g)[1]
    data, affine = _load(next(c.image for c in list_cases(tiny_dataset, 2) if c.name == twin))
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    flip[:2, 3] = np.array(data.shape[:2]) - 1
    t2[twin] = fingerprint(data[::-1, ::-1].copy(), affine @ flip)  # stored LPS instead of RAS
    groups = group_scans({**t1, **t2}, tasks)
    assert [name, twin] in groups.members
    folds = assign_folds(list(t1), list(t2), groups.members, 3)
    assert folds[twin] == folds[name]
    del t2[twin]  # no copy at all: reported and warned about, never silently matched elsewhere
    del tasks[twin]
    lines = group_scans({**t1, **t2}, tasks).lines()
    assert any(line.startswith(f"warning: {name} has no copy in Task 2") for line in lines)


def test_phantom_scans_match_across_tasks(tmp_path, tiny_dataset):
    cfg = PreprocessConfig(size=(192, 192, 24))  # no crop of the 1.25 -> 0.625 mm upsampled LA
    pre = {
        c.name: preprocess_case(c, tmp_path, cfg)
        for t in (1, 2)
        for c in list_cases(tiny_dataset, t)
    }
    groups = group_scans(
        {n: p.fingerprint for n, p in pre.items()}, {n: p.task for n, p in pre.items()}
    )
    shared = groups.shared()
    assert len(shared) == 3 and len(groups.members) == 5  # 3 Task 1 scans, each copied once
    for a, b in shared:  # the phantom writer copies Task 1 scans into Task 2
        assert pre[a].meta["voxel_hash"] == pre[b].meta["voxel_hash"]
        assert groups.links[(a, b)] > 0.999
