"""Stage table, train step and stopping (lascar_ref/stage_table.py, trainer.py, stopping.py,
config.py, labels.py; docs/design.md §2)."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import one_step, tiny_batch

from lascar_ref.config import make_config
from lascar_ref.errors import TrainingError
from lascar_ref.labels import LABEL_CHANNELS, split_labels
from lascar_ref.losses import stage1_loss, stage2_loss, stage3_loss
from lascar_ref.stage_data import CaseTensors
from lascar_ref.stage_table import STAGES, LossWeights, build_model, freeze, loss_fn, param_groups
from lascar_ref.training.step import run_epoch, train_step
from lascar_ref.training.stopping import EarlyStopping, NonFiniteBudget

ROOT = Path(__file__).resolve().parents[1]
W = LossWeights(lam=0.5, beta_la=0.3, beta_scar=0.7, alpha_t=1.0)


def _batch():
    return tiny_batch()


def _step(model, spec, lr, loaded=(), **kw):
    optimizer = torch.optim.AdamW(param_groups(model, spec, list(loaded), lr, 0.1), lr=lr)
    return one_step(model, spec, optimizer, W, **kw)


def test_stage_table_is_the_papers():
    assert [STAGES[s].task for s in (1, 2, 3)] == [2, 1, 1]
    assert [STAGES[s].target for s in (1, 2, 3)] == ["la", "scar", "scar"]
    assert [STAGES[s].outputs for s in (1, 2, 3)] == [("la",), ("la", "scar"), ("scar",)]
    assert [STAGES[s].model.__name__ for s in (1, 2, 3)] == [
        "SwinUNETR",
        "DualSwinUNETR",
        "SwinUNETR",
    ]
    assert STAGES[2].slow_if_loaded == ("E", "D_LA") and STAGES[2].uses_alpha
    assert not STAGES[1].uses_alpha and not STAGES[3].uses_alpha
    assert set(STAGES[3].frozen_if_loaded) == {"E"}


def test_loaded_stage2_groups_have_documented_lrs_and_cover_every_parameter():
    spec = STAGES[2]
    model = build_model(spec, 12)
    groups = {g["name"]: g for g in param_groups(model, spec, ["E", "D_LA"], 1e-4, 0.1)}
    assert groups["E"]["lr"] == pytest.approx(1e-5) and groups["D_LA"]["lr"] == pytest.approx(1e-5)
    assert groups["D_scar"]["lr"] == 1e-4
    n = sum(p.numel() for g in groups.values() for p in g["params"])
    assert n == sum(p.numel() for p in model.parameters())


def test_label_channels_are_named_once():
    _, labels = _batch()
    y = split_labels(labels)
    assert y._fields == LABEL_CHANNELS == ("la", "scar", "wall")
    assert torch.equal(y.scar, labels[:, 1:2]) and torch.equal(y.wall, labels[:, 2:3])
    with pytest.raises(ValueError, match=r"\(B, 3, X, Y, Z\)"):
        split_labels(labels[:, :2])


def test_stage_losses_equal_the_equations_on_explicit_channels():
    _, labels = _batch()
    la, scar, wall = labels[:, 0:1], labels[:, 1:2], labels[:, 2:3]
    g = torch.Generator().manual_seed(1)
    logit_a, logit_b = (
        torch.randn(1, 1, 64, 32, 32, generator=g),
        torch.randn(1, 1, 64, 32, 32, generator=g),
    )
    s1 = loss_fn(STAGES[1], W)(logit_a, labels)
    s2 = loss_fn(STAGES[2], W)((logit_a, logit_b), labels)
    s3 = loss_fn(STAGES[3], W)(logit_b, labels)
    assert torch.equal(s1["loss"], stage1_loss(logit_a, la, 0.5)["loss"])
    assert torch.equal(
        s2["loss"], stage2_loss(logit_a, logit_b, la, scar, wall, 1.0, 0.3, 0.7, 0.5)["loss"]
    )
    assert torch.equal(s3["loss"], stage3_loss(logit_b, scar, 0.5)["loss"])
    # Eq. 5 by hand from its terms, and the channels matter: swapping LA and scar changes the loss
    assert s2["loss"].item() == pytest.approx(
        0.3 * s2["la"].item() + 0.7 * s2["scar"].item(), rel=1e-6
    )
    swapped = labels[:, [1, 0, 2]]
    assert loss_fn(STAGES[2], W)((logit_a, logit_b), swapped)["loss"] != s2["loss"]
    assert loss_fn(STAGES[1], W)(logit_a, swapped)["loss"] != s1["loss"]
    # the wall channel enters only Stage II, through W = 1 + alpha * M_wall (Eq. 7-8)
    no_wall = labels.clone()
    no_wall[:, 2] = 0
    assert loss_fn(STAGES[2], W)((logit_a, logit_b), no_wall)["scar"] != s2["scar"]
    assert torch.equal(loss_fn(STAGES[3], W)(logit_b, no_wall)["loss"], s3["loss"])


def test_loaded_stage3_encoder_frozen_parameters_unchanged_and_without_gradient():
    spec = STAGES[3]
    torch.manual_seed(0)
    model = build_model(spec, 12)
    prefixes = spec.frozen_if_loaded["E"]
    assert freeze(model, spec, ["E", "D_scar"]) == list(prefixes)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if n.startswith(prefixes)}
    trainable = {
        n: p.detach().clone() for n, p in model.named_parameters() if not n.startswith(prefixes)
    }
    assert frozen and trainable
    terms, ok = _step(model, spec, 1e-2, loaded=["E", "D_scar"])
    assert ok and set(terms) == {"loss", "scar_dice", "scar_ce"}
    params = dict(model.named_parameters())
    for name, before in frozen.items():
        assert params[name].grad is None and torch.equal(params[name], before), name
    assert any(not torch.equal(params[n], v) for n, v in trainable.items())


def test_bf16_autocast_step_on_cpu_is_finite():
    spec = STAGES[2]
    model = build_model(spec, 12)
    optimizer = torch.optim.AdamW(param_groups(model, spec, [], 1e-3, 0.1), lr=1e-3)
    image, labels = _batch()
    terms, ok = train_step(
        model,
        image,
        labels,
        optimizer,
        torch.amp.GradScaler("cpu", enabled=False),
        loss_fn(spec, W),
        torch.bfloat16,
    )
    assert ok and all(torch.isfinite(torch.tensor(v)) for v in terms.values())
    assert terms["loss"] == pytest.approx(0.3 * terms["la"] + 0.7 * terms["scar"], rel=1e-5)


def test_gradient_clipping_bounds_the_update():
    """With SGD (lr 1, no momentum) the update equals
    the gradient, so its norm is the clipped norm."""
    spec = STAGES[1]
    results = {}
    for clip in (0.0, 1e-3):
        torch.manual_seed(0)
        model = build_model(spec, 12)
        before = [p.detach().clone() for p in model.parameters()]
        optimizer = torch.optim.SGD(param_groups(model, spec, [], 1.0, 0.1), lr=1.0)
        _, ok = one_step(model, spec, optimizer, W, grad_clip=clip)
        assert ok
        step = torch.cat([(b - p.detach()).flatten() for b, p in zip(before, model.parameters())])
        results[clip] = step.norm().item()
    assert results[0.0] > 1e-3 * 10  # unclipped gradient norm is far above the clip value
    assert results[1e-3] == pytest.approx(1e-3, rel=1e-3)


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


def test_non_finite_budget_resets_on_a_finite_step():
    budget = NonFiniteBudget.for_amp(torch.float16)
    assert budget.allowance == 5 and NonFiniteBudget.for_amp(None).allowance == 0
    assert all(budget.spend() for _ in range(5)) and not budget.spend()
    budget.reset()
    assert budget.left == 5


def test_cli_help_shows_defaults_and_sources():
    out = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "-h"], capture_output=True, text=True, check=True
    ).stdout
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
    image, labels = torch.randn(1, 1, 64, 32, 32), (torch.rand(1, 3, 64, 32, 32) > 0.5).float()
    case = CaseTensors("c", image, labels, torch.nonzero(labels[0, 0].flatten()).flatten(), None)
    model = NanModel()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    gens = (torch.Generator().manual_seed(0), torch.Generator().manual_seed(1))
    kw = dict(
        patch=(64, 32, 32),
        spacing_mm=(1.0, 1.0, 1.0),
        batch_size=1,
        steps=0,
        gens=gens,
        amp_dtype=None,
        progress=False,
    )
    with pytest.raises(TrainingError, match=r"non-finite loss at stage 1, epoch 3, step 0"):
        run_epoch(
            model,
            [case],
            optimizer,
            scaler,
            loss_fn(STAGES[1], W),
            budget=NonFiniteBudget(0),
            where="stage 1, epoch 3",
            **kw,
        )
    with pytest.raises(
        TrainingError, match=r"epoch 0, step 2"
    ):  # two skips allowed, the third stops
        run_epoch(
            model,
            [case] * 3,
            optimizer,
            scaler,
            loss_fn(STAGES[1], W),
            budget=NonFiniteBudget(2),
            where="stage 1, epoch 0",
            **kw,
        )
    assert torch.equal(model.w, torch.ones(1))  # no step was taken on a non-finite loss


def test_config_defaults_are_the_modules_constants():
    """One source per paper constant: the config's defaults are the constants the code uses."""
    from lascar_ref.config import OVERLAP, PATCH, TrainConfig
    from lascar_ref.data import folds, preprocess
    from lascar_ref.losses import dice_ce, stage_losses, wall_weight
    from lascar_ref.losses.wall_mask import DELTA_IN_MM, DELTA_OUT_MM

    c = TrainConfig()
    assert (c.lam, c.beta_la, c.beta_scar) == (
        dice_ce.LAM,
        stage_losses.BETA_LA,
        stage_losses.BETA_SCAR,
    )
    assert (c.alpha_max, c.alpha_ramp_epochs) == (wall_weight.ALPHA_MAX, wall_weight.RAMP_EPOCHS)
    assert (c.delta_in_mm, c.delta_out_mm) == (DELTA_IN_MM, DELTA_OUT_MM)
    assert (c.patch, c.overlap, c.n_folds) == (PATCH, OVERLAP, folds.N_FOLDS)
    assert (c.spacing_mm, c.size) == (preprocess.TARGET_SPACING_MM, preprocess.TARGET_SIZE)
    assert preprocess.PreprocessConfig().spacing_mm == c.spacing_mm  # and preprocessing agrees
