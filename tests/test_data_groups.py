"""Duplicate-proof grouped folds (lascar_ref/data/groups.py, data/folds.py, stage_data.fold_split;
docs/design.md §5): every copy of a scan, in either task and in any form, joins its group, the
report names every group with more than one member, and a group never spans folds."""

import json
import shutil

import nibabel as nib
import numpy as np
from conftest import TINY_TRAIN

from lascar_ref.config import make_config
from lascar_ref.data import write_phantom_dataset
from lascar_ref.data.__main__ import main as data_cli
from lascar_ref.data.layout import IMAGE, LA
from lascar_ref.stage_data import fold_split


def _resave_lps_rescaled(src_dir, dst_dir):
    """The case in src_dir stored X-reversed (LPS-like affine) and rescaled to another dtype."""
    dst_dir.mkdir(parents=True)
    for name in (IMAGE, LA):
        img = nib.load(str(src_dir / name))
        data = np.asarray(img.dataobj)
        flip = np.diag([-1.0, 1.0, 1.0, 1.0])
        flip[0, 3] = data.shape[0] - 1
        if name == IMAGE:
            data = (data.astype(np.float32) * 2.5 + 30.0).astype(np.float32)
        nib.save(nib.Nifti1Image(data[::-1].copy(), img.affine @ flip), str(dst_dir / name))


def _copies_dataset(data):
    """tiny_data plus: a second, reoriented and rescaled copy of task1/train_1 in Task 2; a
    duplicate of task1/train_2 inside Task 1; a duplicate of the LA-only scan inside Task 2."""
    t1, t2 = data / "task1" / "train_data", data / "task2" / "train_data"
    _resave_lps_rescaled(t1 / "train_1", t2 / "train_5")
    shutil.copytree(t1 / "train_2", t1 / "train_4")
    task1_bytes = {(t1 / f"train_{i}" / IMAGE).read_bytes() for i in (1, 2, 3)}
    la_only = next(d for d in sorted(t2.iterdir()) if (d / IMAGE).read_bytes() not in task1_bytes)
    shutil.copytree(la_only, t2 / "train_6")
    return la_only.name


def test_copies_in_and_across_tasks_share_a_group_and_a_fold(data, tmp_path, capsys):
    la_only = _copies_dataset(data)
    assert data_cli(["check", str(data)]) == 0
    out = capsys.readouterr().out
    assert "fold groups: 10 scans in 4 groups; 4 group(s) with more than one member" in out
    groups = [line for line in out.splitlines() if line.startswith("group: ")]
    assert len(groups) == 4
    assert any("task1/train_1," in g and "task2/train_5" in g for g in groups)  # 3 members
    assert any("task1/train_2, task1/train_4," in g for g in groups)  # inside Task 1
    assert any(f"task2/{la_only}, task2/train_6" in g for g in groups)  # inside Task 2
    assert "fold matching: 4 of 4 Task 1 scans found in Task 2" in out

    splits = tmp_path / "splits.json"
    assert data_cli(["folds", str(data), "--n-folds", "2", "--out", str(splits)]) == 0
    written = json.loads(splits.read_text())["cases"]
    by_group = {}
    for entry in written.values():
        by_group.setdefault(entry["group"], set()).add(entry["fold"])
    assert len(written) == 10 and all(len(f) == 1 for f in by_group.values())
    assert sum(1 for g in by_group if sum(e["group"] == g for e in written.values()) > 1) == 4

    cfg = make_config(**{**TINY_TRAIN, "cache": str(tmp_path / "cache"), "data": str(data)})
    said = []
    fs = fold_split(cfg, say=said.append)  # what training uses, and what it prints
    listed = [line for line in said if line.startswith("group: ")]
    assert len(listed) == 3 and not any("task1/train_3" in g for g in listed)  # a usual pair
    assert "1 are one Task 1 scan with its Task 2 copy" in said[0]
    assert fs.folds == {n: e["fold"] for n, e in written.items()}
    of = fs.groups.of()
    for k in (0, 1):
        train1, val1 = fs.cases(1, k)  # Stages II / III
        train2, _ = fs.cases(2, k)  # Stage I
        val_groups = {of[p.name] for p in val1}
        assert not val_groups & {of[p.name] for p in train1}
        assert not val_groups & {of[p.name] for p in train2}


def test_a_sagittal_stack_is_named_at_check_and_at_training_start(tmp_path):
    """A scan whose thickest axis is not the slice axis after reorientation to RAS (here the
    phantom's axis 0, anterior, stored at 2.5 mm: RAS Y thick) is said in one line naming the
    file, by `check` and at the start of training; an axial one is not."""
    from lascar_ref.data.input_checks import check_dataset
    from lascar_ref.data.orientation import thick_axis_note

    assert thick_axis_note((0.625, 0.625, 2.5)) is None and thick_axis_note((1, 1, 1.2)) is None
    assert "is X (2.50 mm against 0.62 mm)" in thick_axis_note((2.5, 0.625, 0.625))
    data = write_phantom_dataset(tmp_path / "d", 2, 0, (24, 64, 64), (2.5, 1.25, 1.25), seed=1)
    info = []
    assert check_dataset(data, info=info) == []  # a warning, not a problem
    lines = [x for x in info if "thickest axis" in x]
    assert len(lines) == 4 and all("RAS is Y" in x and "enhanced.nii.gz" in x for x in lines)
    cfg = make_config(**{**TINY_TRAIN, "cache": str(tmp_path / "cache"), "data": str(data)})
    said = []
    fold_split(cfg, say=said.append)
    assert sum("thickest axis after reorientation to RAS is Y" in x for x in said) == 4
    axial = write_phantom_dataset(tmp_path / "a", 2, 0, (64, 64, 24), (1.25, 1.25, 2.5), seed=1)
    info = []
    check_dataset(axial, info=info)
    assert not any("thickest axis" in x for x in info)
