"""Bad inputs produce errors that name the file and the problem (lascar_ref/data/nifti_io.py,
input_checks.py, layout.py); `check` reports every problem at once."""

import shutil

import nibabel as nib
import numpy as np
import pytest

from lascar_ref.data import DataError, check_dataset, list_cases, load_case
from lascar_ref.data.__main__ import main as data_cli


@pytest.fixture
def dataset(tmp_path, tiny_dataset):
    root = tmp_path / "data"
    shutil.copytree(tiny_dataset, root)
    return root


def first(root, task=1):
    return list_cases(root, task)[0]


def rewrite(path, data=None, affine=None, zooms=None):
    img = nib.load(str(path))
    new = nib.Nifti1Image(
        np.asarray(img.dataobj) if data is None else data,
        img.affine if affine is None else affine,
        img.header.copy(),
    )
    new.set_data_dtype(np.asarray(new.dataobj).dtype)
    if zooms is not None:
        new.header.set_zooms(zooms)
    nib.save(new, str(path))


def test_missing_file(dataset):
    case = first(dataset)
    case.image.unlink()
    with pytest.raises(DataError, match=rf"{case.image}: file not found"):
        load_case(case)


def test_truncated_file(dataset):
    case = first(dataset)
    raw = case.la.read_bytes()
    case.la.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=rf"{case.la}: unreadable or truncated"):
        load_case(case)


def test_not_3d(dataset):
    case = first(dataset)
    rewrite(case.image, data=np.zeros((8, 8, 4, 2), np.float32))
    with pytest.raises(
        DataError, match=rf"{case.image}: expected a 3-D volume, found shape \(8, 8, 4, 2\)"
    ):
        load_case(case)


def test_shape_mismatch(dataset):
    case = first(dataset)
    rewrite(case.scar, data=np.zeros((96, 96, 23), np.uint8))
    with pytest.raises(
        DataError, match=rf"{case.scar}: label shape \(96, 96, 23\) differs .*\(96, 96, 24\)"
    ):
        load_case(case)


def test_affine_mismatch(dataset):
    case = first(dataset)
    aff = nib.load(str(case.la)).affine.copy()
    aff[0, 3] += 5.0
    rewrite(case.la, affine=aff)
    with pytest.raises(DataError, match=rf"{case.la}: label affine differs .*5 mm"):
        load_case(case)


def test_nan_intensities(dataset):
    case = first(dataset)
    data = np.asarray(nib.load(str(case.image)).dataobj).astype(np.float32)
    data[3, 4, 5] = np.nan
    rewrite(case.image, data=data)
    with pytest.raises(DataError, match=rf"{case.image}: 1 non-finite voxel"):
        load_case(case)


def test_zero_spacing(dataset):
    case = first(dataset)
    rewrite(case.image, zooms=(1.25, 0.0, 2.5))
    with pytest.raises(DataError, match=rf"{case.image}: voxel spacing must be positive"):
        load_case(case)


def test_empty_la(dataset):
    case = first(dataset)
    rewrite(case.la, data=np.zeros((96, 96, 24), np.uint16))
    with pytest.raises(DataError, match=rf"{case.la}: the LA label is empty"):
        load_case(case)


def test_missing_task_folder(dataset):
    shutil.rmtree(dataset / "task2")
    with pytest.raises(DataError, match=r"task2 folder not found"):
        list_cases(dataset, 2)


def test_check_reports_every_problem(dataset, capsys):
    assert check_dataset(dataset) == []
    one, two = list_cases(dataset, 1)[0], list_cases(dataset, 2)[3]
    one.scar.unlink()
    rewrite(two.la, data=np.zeros((96, 96, 24), np.uint16))
    problems = check_dataset(dataset)
    assert len(problems) == 2
    assert str(one.scar) in problems[0] and str(two.la) in problems[1]
    assert data_cli(["check", str(dataset)]) == 1
    assert "2 problem(s)" in capsys.readouterr().out
