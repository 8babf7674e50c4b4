"""One writer per output folder, and a writable one (lascar_ref/training/run_lock.py;
docs/design.md §8): an unwritable --out fails before any work, a live lock refuses a second run,
a stale lock is taken over, and the lock is re-entrant within one process."""

import json
import os
import subprocess
import sys

import pytest
from conftest import opts, train_cli

from lascar_ref.errors import RunLockError
from lascar_ref.training.run_lock import RunLock


def test_unwritable_out_fails_before_any_work(tmp_path, capsys, tiny_train):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    rc, text = train_cli(
        [
            "--stage",
            "1",
            *opts(tiny_train, out=str(blocker / "run"), data=str(tmp_path / "no_data")),
        ],
        capsys,
    )
    assert rc == 2 and "output folder is not writable" in text and "no_data" not in text


@pytest.mark.slow  # trains and starts a process
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
        rc, text = train_cli(["--stage", "1", *opts(tiny_train, out=str(out))], capsys)
        assert rc == 2 and f"pid {sleeper.pid}" in text and "another run is writing" in text
    finally:
        sleeper.kill()
        sleeper.wait()
    rc, text = train_cli(
        ["--stage", "1", *opts(tiny_train, out=str(out))], capsys
    )  # holder is gone
    assert rc == 0 and "taking over the lock" in text and not (out / ".lock").exists()
    (out / ".lock").write_text(json.dumps({"host": os.uname().nodename, "pid": os.getppid()}))
    with pytest.raises(RunLockError, match=f"pid {os.getppid()}"):  # a live holder: refused
        with RunLock(out):
            pass
    (out / ".lock").unlink()
    with RunLock(out), RunLock(out):  # re-entrant within one process (a chain of stages)
        assert (out / ".lock").is_file()
    assert not (out / ".lock").exists()
