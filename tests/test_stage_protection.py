"""Protection of earlier-stage knowledge applies only to loaded groups (lascar_ref/stage_table.py,
training/fit.py; docs/design.md §2): B1 (Stage III from scratch) freezes nothing; B3 (Stage II from
scratch) trains every group at the base lr; with --init, the documented freeze and 0.1x lr."""

import pytest
import torch
from conftest import one_step as conftest_step

from lascar_ref.checkpoints import load_checkpoint
from lascar_ref.config import make_config
from lascar_ref.run_log import read_log
from lascar_ref.stage_table import STAGES, build_model, freeze, param_groups
from lascar_ref.training.fit import fit

pytestmark = pytest.mark.slow  # trains stages

W = {"lam": 0.5, "beta_la": 0.3, "beta_scar": 0.7, "alpha_t": 0.0}


def step_with_protection(model, spec, loaded, lr=1e-3):
    frozen = freeze(model, spec, loaded)
    optimizer = torch.optim.AdamW(param_groups(model, spec, loaded, lr, 0.1), lr=lr)
    _, ok = conftest_step(model, spec, optimizer, W)
    assert ok
    return frozen, optimizer


def test_b1_from_scratch_every_parameter_moves_after_one_step():
    spec = STAGES[3]
    torch.manual_seed(0)
    model = build_model(spec, 12)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    frozen, _ = step_with_protection(model, spec, loaded=[])
    assert frozen == []
    unchanged = [n for n, p in model.named_parameters() if torch.equal(p, before[n])]
    assert unchanged == []  # the 67 early-encoder tensors the old code froze at random values move


def test_stage3_init_freezes_exactly_the_documented_set_bit_identically():
    spec = STAGES[3]
    torch.manual_seed(0)
    model = build_model(spec, 12)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    frozen, _ = step_with_protection(model, spec, loaded=["E", "D_scar"])
    documented = (
        "encoder.swin.patch_embed",
        "encoder.swin.stages.0",
        "encoder.swin.stages.1",
        "encoder.skip0",
        "encoder.skip1",
        "encoder.skip2",
    )
    assert tuple(frozen) == documented
    for name, p in model.named_parameters():
        same = torch.equal(p, before[name])
        assert same == name.startswith(documented), name
    assert sum(name.startswith(documented) for name in before) == 67


def test_b3_every_group_at_base_lr_and_with_init_e_and_d_la_slow():
    spec = STAGES[2]
    model = build_model(spec, 12)
    scratch = {g["name"]: g["lr"] for g in param_groups(model, spec, [], 1e-4, 0.1)}
    assert scratch == {"E": 1e-4, "D_LA": 1e-4, "D_scar": 1e-4}
    loaded = {g["name"]: g["lr"] for g in param_groups(model, spec, ["E", "D_LA"], 1e-4, 0.1)}
    assert loaded == pytest.approx({"E": 1e-5, "D_LA": 1e-5, "D_scar": 1e-4})


def test_lrs_and_groups_are_logged_and_kept_on_resume(tmp_path, tiny_train):
    base = dict(tiny_train, max_epochs=1)
    fit(make_config(**dict(base, stage=2, out=str(tmp_path / "b3"))), say=lambda *_: None)
    start, epoch = read_log(tmp_path / "b3" / "stage2.log.jsonl")
    assert (
        start["loaded"] == [] and start["frozen"] == [] and start["new"] == ["E", "D_LA", "D_scar"]
    )
    assert start["lr"] == epoch["lr"] == {"E": 1e-4, "D_LA": 1e-4, "D_scar": 1e-4}
    fit(make_config(**dict(base, stage=1, out=str(tmp_path / "full"))), say=lambda *_: None)
    init = str(tmp_path / "full" / "stage1.pt")
    fit(
        make_config(**dict(base, stage=2, out=str(tmp_path / "full"), init=init)),
        say=lambda *_: None,
    )
    start = read_log(tmp_path / "full" / "stage2.log.jsonl")[0]
    assert start["loaded"] == ["E", "D_LA"] and start["lr"] == pytest.approx(
        {"E": 1e-5, "D_LA": 1e-5, "D_scar": 1e-4}
    )
    last = tmp_path / "full" / "stage2.last.pt"
    assert load_checkpoint(last)["loaded_groups"] == ["E", "D_LA"]
    fit(
        make_config(
            **dict(base, stage=2, max_epochs=2, out=str(tmp_path / "full"), resume=str(last))
        ),
        say=lambda *_: None,
    )
    resumed = read_log(tmp_path / "full" / "stage2.log.jsonl")[-1]
    assert resumed["epoch"] == 1 and resumed["lr"] == pytest.approx(
        {"E": 1e-5, "D_LA": 1e-5, "D_scar": 1e-4}
    )
