"""Leak-free folds (lascar_ref/data/folds.py, docs/design.md §5)."""

import pytest

from lascar_ref.data import PreprocessConfig, assign_folds, list_cases, preprocess_case, split


def synthetic_hashes():
    task1 = {f"task1/train_{i}": f"h{i}" for i in range(1, 61)}
    task2 = {
        f"task2/train_{i}": f"h{(i * 7) % 130 + 1}" for i in range(1, 131)
    }  # every h1..h60 among them
    return task1, task2


def test_deterministic_and_balanced():
    t1, t2 = synthetic_hashes()
    a, b = assign_folds(t1, t2, seed=3), assign_folds(t1, t2, seed=3)
    assert a == b and assign_folds(t1, t2, seed=4) != a
    f1, f2 = a
    assert sorted(list(f1.values()).count(k) for k in range(5)) == [12] * 5
    counts2 = [list(f2.values()).count(k) for k in range(5)]
    assert max(counts2) - min(counts2) <= 1


def test_no_leak_across_tasks():
    t1, t2 = synthetic_hashes()
    f1, f2 = assign_folds(t1, t2, seed=0)
    for k in range(5):
        train2, _ = split(f2, k)
        _, val1 = split(f1, k)
        assert not {t2[n] for n in train2} & {t1[n] for n in val1}


def test_split_rejects_missing_fold():
    with pytest.raises(ValueError, match="fold 7"):
        split({"a": 0, "b": 1}, 7)


def test_phantom_scans_match_across_tasks(tmp_path, tiny_dataset):
    cfg = PreprocessConfig(size=(192, 192, 24))  # no crop of the 1.25 -> 0.625 mm upsampled LA
    hashes = {
        t: {
            c.name: preprocess_case(c, tmp_path, cfg).meta["voxel_hash"]
            for c in list_cases(tiny_dataset, t)
        }
        for t in (1, 2)
    }
    assert set(hashes[1].values()) <= set(hashes[2].values())
    f1, f2 = assign_folds(hashes[1], hashes[2], n_folds=3)
    for name, h in hashes[2].items():
        match = [n for n, h1 in hashes[1].items() if h1 == h]
        if match:
            assert f2[name] == f1[match[0]]
