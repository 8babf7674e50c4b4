"""Exact resume (lascar_ref/fit.py; DESIGN.md §2): interrupted + resumed == uninterrupted on CPU."""
import json

import pytest
import torch

from lascar_ref.checkpoint import load_checkpoint
from lascar_ref.config import make_config
from lascar_ref.fit import fit


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, tiny_train):
    full = fit(make_config(**dict(tiny_train, stage=1, max_epochs=2, out=str(tmp_path / "full"))), say=lambda *a: None)
    fit(make_config(**dict(tiny_train, stage=1, max_epochs=1, out=str(tmp_path / "cut"))), say=lambda *a: None)
    last = tmp_path / "cut" / "stage1.last.pt"
    assert load_checkpoint(last)["epoch"] == 0
    fit(make_config(**dict(tiny_train, stage=1, max_epochs=2, out=str(tmp_path / "cut"), resume=str(last))),
        say=lambda *a: None)
    a = load_checkpoint(tmp_path / "full" / "stage1.last.pt")
    b = load_checkpoint(last)
    assert a["epoch"] == b["epoch"] == 1
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert a["early_stopping"] == b["early_stopping"]
    assert torch.equal(a["rng"]["augment"], b["rng"]["augment"])
    lines = [json.loads(s) for s in (tmp_path / "cut" / "stage1.log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [0, 1]
    assert full["paths"]["best"].endswith("stage1.pt")


def test_resume_without_scaler_state_with_fp16_requested(tmp_path, tiny_train):
    out = tmp_path / "run"
    fit(make_config(**dict(tiny_train, stage=3, max_epochs=1, out=str(out))), say=lambda *a: None)
    last = out / "stage3.last.pt"
    assert load_checkpoint(last)["scaler"] == {}  # a disabled GradScaler saves {}
    said = []
    fit(make_config(**dict(tiny_train, stage=3, max_epochs=2, out=str(out), resume=str(last), amp="fp16")),
        say=said.append)
    assert any("starting a fresh fp16 loss scale" in s for s in said)
    state = load_checkpoint(last)
    assert state["epoch"] == 1 and state["scaler"] != {}
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_resume_refuses_another_stage(tmp_path, tiny_train):
    out = tmp_path / "run"
    fit(make_config(**dict(tiny_train, stage=3, max_epochs=1, out=str(out))), say=lambda *a: None)
    with pytest.raises(ValueError, match=r"stage3\.last\.pt: a Stage 3 checkpoint, expected Stage 1"):
        fit(make_config(**dict(tiny_train, stage=1, resume=str(out / "stage3.last.pt"))), say=lambda *a: None)
