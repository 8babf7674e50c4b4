"""What training does with the dataset it is given (lascar_ref/stage_data.py, data/;
docs/design.md §5, §8; docs/reliability.md): an LA-only dataset trains Stage I and refuses Stage
II, a missing file is named without a traceback, folders not named train_N are reported, and the
cross-task fold matching is reported."""

import shutil

import pytest
from conftest import opts, train_cli

from lascar_ref.data.__main__ import main as data_cli
from lascar_ref.stage_table import STAGE_TASKS, STAGES


@pytest.mark.slow  # trains or preprocesses through train.py
def test_la_only_dataset_trains_stage1_and_refuses_stage2(tmp_path, data, capsys, tiny_train):
    shutil.rmtree(data / "task1")
    assert data_cli(["check", str(data)]) == 0
    assert "stages this dataset supports: 1" in capsys.readouterr().out
    rc, text = train_cli(
        ["--stage", "1", *opts(tiny_train, data=str(data), out=str(tmp_path / "a"))], capsys
    )
    assert rc == 0 and (tmp_path / "a" / "stage1.pt").is_file(), text
    rc, text = train_cli(
        ["--stage", "2", *opts(tiny_train, data=str(data), out=str(tmp_path / "b"))], capsys
    )
    assert rc == 2 and "Stage 2 trains on LA + scar labels (Task 1)" in text
    assert "stages it supports: 1" in text


@pytest.mark.slow  # trains or preprocesses through train.py
def test_missing_case_file_is_named_without_a_traceback(tmp_path, data, capsys, tiny_train):
    missing = data / "task2" / "train_data" / "train_2" / "enhanced.nii.gz"
    missing.unlink()
    rc, text = train_cli(
        ["--stage", "1", *opts(tiny_train, data=str(data), out=str(tmp_path))], capsys
    )
    assert rc == 2 and f"{missing}: file not found" in text and "Traceback" not in text


@pytest.mark.slow  # trains or preprocesses through train.py
def test_folders_not_named_train_n_are_reported(tmp_path, data, capsys, tiny_train):
    shutil.copytree(
        data / "task2" / "train_data" / "train_1", data / "task2" / "train_data" / "train_abc"
    )
    assert data_cli(["check", str(data)]) == 1
    assert "train_abc: not a train_N case folder; ignored" in capsys.readouterr().out
    rc, text = train_cli(
        ["--stage", "1", *opts(tiny_train, data=str(data), out=str(tmp_path))], capsys
    )
    assert rc == 0 and "train_abc: not a train_N case folder; ignored" in text


def test_check_reports_the_fold_matching(data, capsys):
    assert data_cli(["check", str(data)]) == 0
    out = capsys.readouterr().out
    assert "fold matching: 3 of 3 Task 1 scans found in Task 2 (4 scans)" in out
    image = (data / "task1" / "train_data" / "train_2" / "enhanced.nii.gz").read_bytes()
    copy = next(
        d
        for d in (data / "task2" / "train_data").iterdir()
        if (d / "enhanced.nii.gz").read_bytes() == image
    )
    shutil.rmtree(copy)  # Task 1's train_2 now has no copy in Task 2
    assert data_cli(["check", str(data)]) == 0
    out = capsys.readouterr().out
    assert "fold matching: 2 of 3 Task 1 scans found in Task 2 (3 scans)" in out
    assert "warning: task1/train_2 has no copy in Task 2" in out


def test_without_la_only_cases_stage1_reads_the_la_of_task1(data):
    from lascar_ref.data.dataset import open_dataset

    assert (
        open_dataset(data).first_task(STAGES[1].trains_on) == 2
    )  # Task 2 when there is one (the paper)
    shutil.rmtree(data / "task2")
    ds = open_dataset(data)
    assert ds.supported_stages(STAGE_TASKS) == [1, 2, 3] and ds.first_task(STAGES[1].trains_on) == 1
