"""Checkpoint safety (lascar_ref/checkpoints/files.py; docs/design.md §8): the safe loader, atomic
and concurrent writes, schemas checked on load."""

import shutil
import threading

import pytest
import torch

from lascar_ref.checkpoints import load_checkpoint, save_checkpoint
from lascar_ref.config import make_config
from lascar_ref.errors import CheckpointError
from lascar_ref.training.fit import fit


class Payload:
    """Unpickling this would create a file: the proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "lascar_ref/1", "stage": 1, "model": Payload(str(marker))}, path)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match=r"evil\.pt: refused by the safe loader") as err:
        load_checkpoint(path)
    assert not marker.exists()
    assert "weights_only` set to `False`" not in str(err.value)  # never torch's unsafe advice
    assert "Unsupported global" in str(err.value)  # but what was refused
    with open(
        path, "rb"
    ) as f:  # the file really does hold the payload: an unsafe load would run it
        assert b"pwned" in f.read()


def test_a_file_that_is_no_torch_file_is_named_as_such(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("# a text file, not a checkpoint\n")
    with pytest.raises(CheckpointError, match=r"README\.md: not a PyTorch file") as err:
        load_checkpoint(path)
    assert "weights_only" not in str(err.value)


def test_atomic_write_keeps_the_previous_file_on_a_crash(tmp_path, monkeypatch):
    path = tmp_path / "stage2.last.pt"
    save_checkpoint({"stage": 2, "epoch": 3, "w": torch.ones(3)}, path)

    def crash(obj, f, *a, **k):
        with open(f, "wb") as out:
            out.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        save_checkpoint({"stage": 2, "epoch": 4, "w": torch.zeros(3)}, path)
    monkeypatch.undo()
    state = load_checkpoint(path)
    assert state["epoch"] == 3 and torch.equal(state["w"], torch.ones(3))


def test_truncated_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "stage1.last.pt"
    save_checkpoint({"stage": 1, "w": torch.arange(1000.0)}, path)
    cut = tmp_path / "cut.pt"
    shutil.copy(path, cut)
    cut.write_bytes(cut.read_bytes()[:300])
    with pytest.raises(CheckpointError, match=r"cut\.pt: unreadable or truncated checkpoint"):
        load_checkpoint(cut)
    assert load_checkpoint(path)["stage"] == 1
    with pytest.raises(CheckpointError, match=r"nothing\.pt: checkpoint not found"):
        load_checkpoint(tmp_path / "nothing.pt")
    torch.save({"weights": torch.ones(1)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a lascar_ref checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_wrong_stage_init_is_refused_before_training(tmp_path, capsys, tiny_train):
    from lascar_ref.models import SwinUNETR

    path = tmp_path / "stage3.pt"
    save_checkpoint(
        {
            "stage": 3,
            "arch": {"model": "SwinUNETR", "feature_size": 12},
            "model": SwinUNETR(feature_size=12).state_dict(),
        },
        path,
    )
    from conftest import load_script, tiny_cli

    rc = load_script("train").main(
        ["--stage", "2", "--init", str(path), "--out", str(tmp_path), *tiny_cli(tiny_train)]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "stage3.pt" in err and "from Stage 3" in err
    assert not (tmp_path / "stage2.last.pt").exists()


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
