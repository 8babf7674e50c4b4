"""Reliability (docs/design.md §8, docs/reliability.md): LA-only datasets, missing files, chains
resumed with --stage all, reported folders, faults surfaced before work, umask-following caches."""

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from conftest import load_script, tiny_cli

from lascar_ref.checkpoint import load_checkpoint, save_checkpoint
from lascar_ref.config import make_config
from lascar_ref.data import write_phantom_dataset
from lascar_ref.data.__main__ import main as data_cli
from lascar_ref.errors import CheckpointError, RunLockError
from lascar_ref.training.fit import fit
from lascar_ref.training.run_lock import RunLock

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """A dataset in the geometry of tests/conftest.TINY_TRAIN, for copying and breaking."""
    root = tmp_path_factory.mktemp("reliability") / "data"
    return write_phantom_dataset(
        root, n_task1=3, n_task2_only=1, shape=(48, 48, 16), spacing=(2.5, 2.5, 5.0), seed=0
    )


@pytest.fixture
def data(tmp_path, tiny_data):
    root = tmp_path / "data"
    shutil.copytree(tiny_data, root)
    return root


def train(argv, capsys):
    rc = load_script("train").main(argv)
    captured = capsys.readouterr()
    return rc, captured.out + captured.err


def opts(tiny_train, **kw):
    return tiny_cli({**tiny_train, **kw})


def test_la_only_dataset_trains_stage1_and_refuses_stage2(tmp_path, data, capsys, tiny_train):
    shutil.rmtree(data / "task1")
    assert data_cli(["check", str(data)]) == 0
    assert "stages this dataset supports: 1" in capsys.readouterr().out
    rc, text = train(
        ["--stage", "1", *opts(tiny_train, data=str(data), out=str(tmp_path / "a"))], capsys
    )
    assert rc == 0 and (tmp_path / "a" / "stage1.pt").is_file(), text
    rc, text = train(
        ["--stage", "2", *opts(tiny_train, data=str(data), out=str(tmp_path / "b"))], capsys
    )
    assert rc == 2 and "Stage 2 trains on Task 1" in text and "stages it supports: 1" in text


def test_missing_case_file_is_named_without_a_traceback(tmp_path, data, capsys, tiny_train):
    missing = data / "task2" / "train_data" / "train_2" / "enhanced.nii.gz"
    missing.unlink()
    rc, text = train(["--stage", "1", *opts(tiny_train, data=str(data), out=str(tmp_path))], capsys)
    assert rc == 2 and f"{missing}: file not found" in text and "Traceback" not in text


def test_stage_all_resume_continues_the_chain(tmp_path, capsys, tiny_train):
    out = tmp_path / "run"
    rc, text = train(["--stage", "1", *opts(tiny_train, out=str(out))], capsys)
    assert rc == 0, text
    last = out / "stage1.last.pt"
    rc, text = train(
        ["--stage", "all", "--resume", str(last), *opts(tiny_train, out=str(out), max_epochs=2)],
        capsys,
    )
    assert rc == 0, text
    for stage in (2, 3):
        state = load_checkpoint(out / f"stage{stage}.last.pt")
        assert state["config"]["init"] == str(out / f"stage{stage - 1}.pt")
    assert load_checkpoint(last)["epoch"] == 1  # Stage I went on to its new max_epochs


def test_folders_not_named_train_n_are_reported(tmp_path, data, capsys, tiny_train):
    shutil.copytree(
        data / "task2" / "train_data" / "train_1", data / "task2" / "train_data" / "train_abc"
    )
    assert data_cli(["check", str(data)]) == 1
    assert "train_abc: not a train_N case folder; ignored" in capsys.readouterr().out
    rc, text = train(["--stage", "1", *opts(tiny_train, data=str(data), out=str(tmp_path))], capsys)
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


def test_unwritable_out_fails_before_any_work(tmp_path, capsys, tiny_train):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    rc, text = train(
        [
            "--stage",
            "1",
            *opts(tiny_train, out=str(blocker / "run"), data=str(tmp_path / "no_data")),
        ],
        capsys,
    )
    assert rc == 2 and "output folder is not writable" in text and "no_data" not in text


def test_a_second_run_on_the_same_out_refuses_and_a_stale_lock_is_taken_over(
    tmp_path, capsys, tiny_train
):
    out = tmp_path / "run"
    out.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".lock").write_text(
            json.dumps(
                {
                    "host": os.uname().nodename,
                    "pid": sleeper.pid,
                    "started": "earlier",
                    "command": "train.py --stage 1",
                }
            )
        )
        rc, text = train(["--stage", "1", *opts(tiny_train, out=str(out))], capsys)
        assert rc == 2 and f"pid {sleeper.pid}" in text and "another run is writing" in text
    finally:
        sleeper.kill()
        sleeper.wait()
    rc, text = train(["--stage", "1", *opts(tiny_train, out=str(out))], capsys)  # holder is gone
    assert rc == 0 and "taking over the lock" in text and not (out / ".lock").exists()
    (out / ".lock").write_text(json.dumps({"host": os.uname().nodename, "pid": os.getppid()}))
    with pytest.raises(RunLockError, match=f"pid {os.getppid()}"):  # a live holder: refused
        with RunLock(out):
            pass
    (out / ".lock").unlink()
    with RunLock(out), RunLock(out):  # re-entrant within one process (a chain of stages)
        assert (out / ".lock").is_file()
    assert not (out / ".lock").exists()


def test_concurrent_checkpoint_writes_use_private_temporary_files(tmp_path):
    path = tmp_path / "stage1.last.pt"
    errors = []

    def writer(value):
        try:
            for _ in range(5):
                save_checkpoint({"stage": 1, "w": torch.full((1000,), float(value))}, path)
        except Exception as e:  # noqa: BLE001 - any failure of a writer fails the test
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(v,)) for v in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and load_checkpoint(path)["w"].unique().numel() == 1
    assert [p.name for p in tmp_path.iterdir()] == ["stage1.last.pt"]


def _make_phantoms(cache):
    from lascar_ref.stage_data import phantom_root

    cfg = make_config(
        cache=cache,
        phantom_task1=2,
        phantom_task2_only=1,
        phantom_shape=(32, 32, 8),
        phantom_spacing=(2.5, 2.5, 5.0),
        progress=False,
    )
    return str(phantom_root(cfg))


def test_two_first_time_phantom_generations_share_one_cache(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        roots = pool.map(_make_phantoms, [str(tmp_path)] * 2)
    assert roots[0] == roots[1] and Path(roots[0]).is_dir()
    assert not list(tmp_path.glob(".tmp-phantoms-*"))


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("--lr", "-1", "--lr -1.0: must be > 0"),
        ("--batch-size", "0", "--batch-size 0: must be >= 1"),
        ("--n-folds", "1", "--n-folds 1: must be at least 2"),
    ],
)
def test_bad_options_fail_before_data_is_read(tmp_path, capsys, tiny_train, option, value, message):
    rc, text = train(
        ["--stage", "1", *opts(tiny_train, data=str(tmp_path / "no_data")), option, value], capsys
    )
    assert rc == 2 and message in text and "no_data" not in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_fails_before_data_is_read(tmp_path, capsys, tiny_train):
    rc, text = train(
        ["--stage", "1", *opts(tiny_train, data=str(tmp_path / "no_data"), device="cuda")], capsys
    )
    assert rc == 2 and "--device cuda: CUDA is not available" in text and "no_data" not in text


def test_hand_made_checkpoint_with_missing_keys_is_refused(tmp_path, tiny_train):
    path = tmp_path / "stage1.last.pt"
    torch.save({"format": "lascar_ref/1", "stage": 1, "arch": {}, "model": {}}, path)
    with pytest.raises(
        CheckpointError, match=r"stage1\.last\.pt: lascar_ref checkpoint without \['config'"
    ):
        fit(
            make_config(**dict(tiny_train, resume=str(path), out=str(tmp_path))),
            say=lambda *_: None,
        )


def test_cache_folders_follow_the_umask(tmp_path, tiny_data):
    from lascar_ref.data import PreprocessConfig, list_cases, preprocess_case

    old = os.umask(0o022)
    try:
        cfg = PreprocessConfig(spacing_mm=(2.5, 2.5, 5.0), size=(48, 48, 16))
        preprocess_case(list_cases(tiny_data, 1)[0], tmp_path / "cache", cfg)
    finally:
        os.umask(old)
    cached = next((tmp_path / "cache").glob("task1-train_1-*"))
    assert cached.stat().st_mode & 0o777 == 0o755
