"""One training step and one epoch (lascar_ref/training/step.py; docs/design.md §2): bf16
autocast on the CPU, gradient clipping of the true gradients, and a non-finite loss that stops
training naming stage, epoch and step without taking a step."""

import inspect

import pytest
import torch
from conftest import one_step, tiny_batch

from lascar_ref.config import make_config
from lascar_ref.errors import TrainingError
from lascar_ref.stage_data import CaseTensors
from lascar_ref.stage_table import STAGES, LossWeights, build_model, param_groups
from lascar_ref.training.setup import Run
from lascar_ref.training.step import run_epoch, train_step
from lascar_ref.training.stopping import EarlyStopping, NonFiniteBudget

W = LossWeights(lam=0.5, beta_la=0.3, beta_scar=0.7, alpha_t=1.0)


@pytest.mark.slow  # a bf16 step on the CPU
def test_bf16_autocast_step_on_cpu_is_finite():
    spec = STAGES[2]
    model = build_model(spec, 12)
    optimizer = torch.optim.AdamW(param_groups(model, spec, [], 1e-3, 0.1), lr=1e-3)
    image, labels = tiny_batch()
    terms, ok = train_step(
        model,
        image,
        labels,
        optimizer,
        torch.amp.GradScaler("cpu", enabled=False),
        spec.loss,
        W,
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


class NanModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, x):
        return x * self.w * float("nan")


def nan_run(budget: int) -> Run:
    """A Stage I run around NanModel (every loss NaN), `budget` non-finite skips allowed."""
    model = NanModel()
    gens = (torch.Generator().manual_seed(0), torch.Generator().manual_seed(1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    stopper, device = EarlyStopping(30, 1e-4), torch.device("cpu")
    run = Run(STAGES[1], model, optimizer, scaler, gens, stopper, [], [], device, None, budget)
    run.trained = model
    return run


def test_non_finite_loss_stops_with_epoch_and_step():
    image, labels = torch.randn(1, 1, 64, 32, 32), (torch.rand(1, 3, 64, 32, 32) > 0.5).float()
    case = CaseTensors("c", image, labels, torch.nonzero(labels[0, 0].flatten()).flatten(), None)
    cfg = make_config(patch=(64, 32, 32), spacing_mm=(1.0, 1.0, 1.0), progress=False)
    run = nan_run(NonFiniteBudget(0))
    with pytest.raises(TrainingError, match=r"non-finite loss at stage 1, epoch 3, step 0"):
        run_epoch(run, [case], cfg, 0.0, 3)
    run = nan_run(NonFiniteBudget(2))
    with pytest.raises(
        TrainingError, match=r"epoch 0, step 2"
    ):  # two skips allowed, the third stops
        run_epoch(run, [case] * 3, cfg, 0.0, 0)
    assert torch.equal(run.model.w, torch.ones(1))  # no step was taken on a non-finite loss


class Reached(Exception):
    """Raised where the weighted scar term of Eq. 8 is computed, to end the run there."""


def test_a_stage2_step_reaches_eq8_in_six_calls(tmp_path, monkeypatch, tiny_train):
    """The README's step trace: train.py -> fit -> run_epoch -> train_step -> loss_stage2 ->
    stage2_loss (Eq. 5) -> dice_ce_loss with W = 1 + alpha M_wall (Eq. 7-8): six calls."""
    from conftest import load_script, tiny_cli

    from lascar_ref.losses import stage_losses

    weighted = stage_losses.dice_ce_loss
    stacks = []

    def spy(*args, weight=None, **kw):
        if weight is not None:
            stacks.append([(f.function, f.filename) for f in inspect.stack()[1:]])
            raise Reached
        return weighted(*args, **kw)

    monkeypatch.setattr(stage_losses, "dice_ce_loss", spy)
    with pytest.raises(Reached):
        load_script("train").main(["--stage", "2", *tiny_cli({**tiny_train, "out": str(tmp_path)})])
    names = [name for name, _ in stacks[0]]
    chain = names[: names.index("run")][::-1]  # from train.py's run() down to the loss
    assert chain == ["fit", "run_epoch", "train_step", "loss_stage2", "stage2_loss"], names
    assert stacks[0][names.index("run")][1].endswith("train.py")
