"""Exact resume and determinism (lascar_ref/training/fit.py, training/state.py,
runtime/device.py; docs/design.md §2):
interrupted + resumed == uninterrupted on the CPU, bit for bit, with and without --deterministic."""

import pytest
import torch

from lascar_ref.checkpoints import load_checkpoint
from lascar_ref.config import make_config
from lascar_ref.models.window_attention import WindowAttention
from lascar_ref.run_log import read_log
from lascar_ref.training.fit import fit

pytestmark = pytest.mark.slow  # trains stages


def quiet(*_):
    pass


def assert_same_run(a: dict, b: dict) -> None:
    assert a["epoch"] == b["epoch"]
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert a["early_stopping"] == b["early_stopping"]
    timeless = [{k: v for k, v in run["metrics"].items() if k != "seconds"} for run in (a, b)]
    assert timeless[0] == timeless[1] and "val_dice" in timeless[0]
    assert torch.equal(a["rng"]["augment"], b["rng"]["augment"])


def test_relative_position_bias_gradient_is_bit_identical_across_backwards():
    """The gather of the bias table (Parity: MONAI indexes it) must have a deterministic backward:
    indexing's backward (an atomic index_put_) gave
    a different sum almost every time on 2 threads."""
    attn = WindowAttention(dim=48, heads=24, window=(7, 7, 7))
    g = torch.Generator().manual_seed(0)
    upstream = torch.randn(24, 343, 343, generator=g)
    grads = []
    for _ in range(8):
        attn.rel_bias_table.grad = None
        (attn.position_bias(343) * upstream).sum().backward()
        grads.append(attn.rel_bias_table.grad.clone())
    assert all(torch.equal(grads[0], other) for other in grads[1:])
    # and it is the gather it replaces: the same bias values as table[index]
    idx = attn.rel_index.reshape(-1)
    ref = attn.rel_bias_table[idx].view(343, 343, 24).permute(2, 0, 1)
    assert torch.equal(attn.position_bias(343), ref)


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, tiny_train):
    full = fit(
        make_config(**dict(tiny_train, stage=1, max_epochs=2, out=str(tmp_path / "full"))),
        say=quiet,
    )
    fit(
        make_config(**dict(tiny_train, stage=1, max_epochs=1, out=str(tmp_path / "cut"))), say=quiet
    )
    last = tmp_path / "cut" / "stage1.last.pt"
    assert load_checkpoint(last)["epoch"] == 0
    fit(
        make_config(
            **dict(tiny_train, stage=1, max_epochs=2, out=str(tmp_path / "cut"), resume=str(last))
        ),
        say=quiet,
    )
    a = load_checkpoint(tmp_path / "full" / "stage1.last.pt")
    b = load_checkpoint(last)
    assert a["epoch"] == 1
    assert_same_run(a, b)
    records = [r for r in read_log(tmp_path / "cut" / "stage1.log.jsonl") if "event" not in r]
    assert [r["epoch"] for r in records] == [0, 1]
    assert full["paths"]["best"].endswith("stage1.pt") and full["complete"]


def test_deterministic_flag_three_epochs_two_runs_and_a_resume_are_bit_identical(
    tmp_path, tiny_train
):
    base = dict(tiny_train, stage=2, max_epochs=3, deterministic=True, alpha_ramp_epochs=2)
    threads = torch.get_num_threads()
    for name in ("a", "b"):
        fit(make_config(**dict(base, out=str(tmp_path / name))), say=quiet)
    assert (
        torch.get_num_threads() == threads and not torch.are_deterministic_algorithms_enabled()
    )  # restored
    fit(make_config(**dict(base, max_epochs=1, out=str(tmp_path / "cut"))), say=quiet)
    last = tmp_path / "cut" / "stage2.last.pt"
    fit(make_config(**dict(base, out=str(tmp_path / "cut"), resume=str(last))), say=quiet)
    runs = [load_checkpoint(tmp_path / name / "stage2.last.pt") for name in ("a", "b", "cut")]
    assert runs[0]["epoch"] == 2 and runs[0]["config"]["deterministic"] is True
    assert_same_run(runs[0], runs[1])
    assert_same_run(runs[0], runs[2])


def test_resume_without_scaler_state_with_fp16_requested(tmp_path, tiny_train):
    out = tmp_path / "run"
    fit(make_config(**dict(tiny_train, stage=3, max_epochs=1, out=str(out))), say=quiet)
    last = out / "stage3.last.pt"
    assert load_checkpoint(last)["scaler"] == {}  # a disabled GradScaler saves {}
    said = []
    with pytest.warns(UserWarning, match="fp16 on the CPU"):
        fit(
            make_config(
                **dict(
                    tiny_train, stage=3, max_epochs=2, out=str(out), resume=str(last), amp="fp16"
                )
            ),
            say=said.append,
        )
    assert any("starting a fresh fp16 loss scale" in s for s in said)
    state = load_checkpoint(last)
    assert state["epoch"] == 1 and state["scaler"] != {}
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_resume_refuses_another_stage(tmp_path, tiny_train):
    out = tmp_path / "run"
    fit(make_config(**dict(tiny_train, stage=3, max_epochs=1, out=str(out))), say=quiet)
    with pytest.raises(
        ValueError, match=r"stage3\.last\.pt: a Stage 3 checkpoint, expected Stage 1"
    ):
        fit(make_config(**dict(tiny_train, stage=1, resume=str(out / "stage3.last.pt"))), say=quiet)
