"""Stage recipes (lascar_ref/stages.py, config.py, trainer.py; DESIGN.md §2)."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lascar_ref.config import make_config
from lascar_ref.stages import FROZEN_IN_STAGE3, build_model, freeze, param_groups, stage_loss
from lascar_ref.trainer import EarlyStopping, train_step

ROOT = Path(__file__).resolve().parents[1]


def tiny(stage, **kw):
    return make_config(stage=stage, feature_size=12, patch=(64, 32, 32), **kw)


def test_stage2_parameter_groups_have_documented_lrs():
    cfg = tiny(2, lr=1e-4)
    groups = {g["name"]: g for g in param_groups(build_model(cfg), cfg)}
    assert groups["encoder"]["lr"] == pytest.approx(1e-5) and groups["decoder_la"]["lr"] == pytest.approx(1e-5)
    assert groups["decoder_scar"]["lr"] == 1e-4
    model = build_model(cfg)
    n = sum(p.numel() for g in param_groups(model, cfg) for p in g["params"])
    assert n == sum(p.numel() for p in model.parameters())


def _batch():
    g = torch.Generator().manual_seed(0)
    image = torch.randn(1, 1, 64, 32, 32, generator=g)
    labels = (torch.rand(1, 3, 64, 32, 32, generator=g) > 0.7).float()
    return image, labels


def test_stage3_frozen_parameters_unchanged_and_without_gradient():
    cfg = tiny(3, lr=1e-2)
    torch.manual_seed(0)
    model = build_model(cfg)
    assert freeze(model, 3) == list(FROZEN_IN_STAGE3)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if n.startswith(FROZEN_IN_STAGE3)}
    trainable = {n: p.detach().clone() for n, p in model.named_parameters() if not n.startswith(FROZEN_IN_STAGE3)}
    assert frozen and trainable
    optimizer = torch.optim.AdamW(param_groups(model, cfg), lr=cfg.lr)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    image, labels = _batch()
    terms, ok = train_step(model, image, labels, optimizer, scaler, cfg, 0.0, None)
    assert ok and set(terms) == {"loss", "scar_dice", "scar_ce"}
    params = dict(model.named_parameters())
    for name, before in frozen.items():
        assert params[name].grad is None and torch.equal(params[name], before), name
    assert any(not torch.equal(params[n], v) for n, v in trainable.items())


def test_bf16_autocast_step_on_cpu_is_finite():
    cfg = tiny(2, lr=1e-3)
    model = build_model(cfg)
    optimizer = torch.optim.AdamW(param_groups(model, cfg), lr=cfg.lr)
    image, labels = _batch()
    terms, ok = train_step(model, image, labels, optimizer, torch.amp.GradScaler("cpu", enabled=False), cfg, 0.5,
                           torch.bfloat16)
    assert ok and all(torch.isfinite(torch.tensor(v)) for v in terms.values())
    assert terms["loss"] == pytest.approx(0.3 * terms["la"] + 0.7 * terms["scar"], rel=1e-5)


def test_stage_losses_follow_the_equations():
    image, labels = _batch()
    logits = torch.randn(1, 1, 64, 32, 32)
    s1 = stage_loss(tiny(1), logits, labels, 0.0)
    s3 = stage_loss(tiny(3), logits, labels, 0.0)
    assert s1["loss"] != s3["loss"]  # LA target vs scar target
    s2 = stage_loss(tiny(2), (logits, logits), labels, 1.0)
    assert s2["la"] == s1["loss"]


def test_early_stopping_stub_sequence():
    stopper = EarlyStopping(patience=3, min_delta=1e-4)
    seq = [0.10, 0.20, 0.20005, 0.19, 0.2001]
    improved, stops = [], []
    for epoch, v in enumerate(seq):
        improved.append(stopper.update(v, epoch))
        stops.append(stopper.stop)
    # 0.20005 and 0.2001 do not beat 0.20 by more than 1e-4: three bad epochs after epoch 1 -> stop
    assert improved == [True, True, False, False, False]
    assert stops == [False, False, False, False, True]
    assert stopper.best == 0.20 and stopper.best_epoch == 1


def test_cli_help_shows_defaults_and_sources():
    out = subprocess.run([sys.executable, str(ROOT / "train.py"), "-h"], capture_output=True, text=True, check=True).stdout
    assert "--max-epochs" in out and "§4.2" in out and "(default: 250)" in out
    assert "--amp" in out and "--pretrained-lr-scale" in out and "(default: 0.1)" in out


def test_config_rejects_the_papers_228_patch():
    with pytest.raises(ValueError, match="224 instead of the paper's 228"):
        make_config(patch=(228, 192, 32))


class NanModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, x):
        return x * self.w * float("nan")


def test_non_finite_loss_stops_with_epoch_and_step():
    from lascar_ref.dataset import CaseTensors
    from lascar_ref.trainer import TrainingError, run_epoch
    cfg = tiny(1, progress=False)
    image, labels = torch.randn(1, 1, 64, 32, 32), (torch.rand(1, 3, 64, 32, 32) > 0.5).float()
    case = CaseTensors("c", image, labels, torch.nonzero(labels[0, 0].flatten()).flatten(), None)
    model = NanModel()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    gens = (torch.Generator().manual_seed(0), torch.Generator().manual_seed(1))
    with pytest.raises(TrainingError, match=r"non-finite loss at stage 1, epoch 3, step 0"):
        run_epoch(model, [case], optimizer, scaler, cfg, 3, 0.0, None, gens, [0])
    budget = [2]  # fp16: the scaler may skip a few steps before training stops
    with pytest.raises(TrainingError, match=r"epoch 0, step 2"):
        run_epoch(model, [case] * 3, optimizer, scaler, cfg, 0, 0.0, None, gens, budget)
    assert torch.equal(model.w, torch.ones(1))  # no step was taken on a non-finite loss
