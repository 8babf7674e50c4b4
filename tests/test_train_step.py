"""One training step and one epoch (lascar_ref/training/fit.py; docs/design.md §2): bf16
autocast on the CPU, gradient clipping of the true gradients, a non-finite loss that stops
training naming stage, epoch and step without taking a step, and the files a Stage II step reads
(at most 7, train.py included: item 1 of the restructuring)."""

import inspect
import sys
from pathlib import Path

import pytest
import torch
from conftest import one_step, tiny_batch

from lascar_ref.config import make_config
from lascar_ref.errors import TrainingError
from lascar_ref.runtime.device import autocast_for
from lascar_ref.stage_data import CaseTensors
from lascar_ref.stage_table import STAGES, build_model, param_groups
from lascar_ref.training import fit as fit_module
from lascar_ref.training.fit import NonFiniteBudget, loss_weights, train_epoch, train_step
from lascar_ref.training.setup import Run, setup_run
from lascar_ref.training.stopping import EarlyStopping

W = {"lam": 0.5, "beta_la": 0.3, "beta_scar": 0.7, "alpha_t": 1.0}
CPU = torch.device("cpu")
PACKAGE = Path(fit_module.__file__).resolve().parents[1]  # lascar_ref/


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
        autocast_for(CPU, torch.bfloat16),
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


def nan_run() -> Run:
    """A Stage I run around NanModel (every loss NaN)."""
    model = NanModel()
    return Run(
        spec=STAGES[1],
        model=model,
        trained=model,
        optimizer=torch.optim.AdamW(model.parameters(), lr=1e-3),
        scaler=torch.amp.GradScaler("cpu", enabled=False),
        autocast=autocast_for(CPU, None),
        gens=(torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)),
        stopper=EarlyStopping(30, 1e-4),
        loaded=[],
        frozen=[],
        device=CPU,
        amp_dtype=None,
    )


def test_non_finite_loss_stops_with_epoch_and_step():
    image, labels = torch.randn(1, 1, 64, 32, 32), (torch.rand(1, 3, 64, 32, 32) > 0.5).float()
    case = CaseTensors("c", image, labels, torch.nonzero(labels[0, 0].flatten()).flatten(), None)
    cfg = make_config(patch=(64, 32, 32), spacing_mm=(1.0, 1.0, 1.0), progress=False)
    run = nan_run()
    with pytest.raises(TrainingError, match=r"non-finite loss at stage 1, epoch 3, step 0"):
        train_epoch(run, [case], cfg, {"lam": 0.5}, 3, NonFiniteBudget(0))
    run = nan_run()
    with pytest.raises(TrainingError, match=r"epoch 0, step 2"):  # two skips, the third stops
        train_epoch(run, [case] * 3, cfg, {"lam": 0.5}, 0, NonFiniteBudget(2))
    assert torch.equal(run.model.w, torch.ones(1))  # no step was taken on a non-finite loss
    with pytest.raises(AttributeError):  # a Run is built once and never reassigned
        run.stopper = EarlyStopping(1, 0.0)


class Reached(Exception):
    """Raised where the weighted scar term of Eq. 8 is computed, to end the run there."""


def test_a_stage2_step_reaches_eq8_from_train_py(tmp_path, monkeypatch, tiny_train):
    """The README's step trace: train.py -> fit -> train_epoch -> train_step -> stage2_loss
    (Eq. 5, the stage table's loss itself) -> dice_ce_loss with W = 1 + alpha M_wall (Eq. 7-8)."""
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
    assert chain == ["fit", "train_epoch", "train_step", "stage2_loss"], names
    assert stacks[0][names.index("run")][1].endswith("train.py")


ENTRY = {"models": "models/dual_swin_unetr.py", "augment": "augment/pipeline.py"}


def files_called(fn) -> set[str]:
    """The lascar_ref/ files whose code runs while `fn()` runs (sys.setprofile), relative to the
    package; a file of models/ or augment/ counts as the entry file of its folder (ENTRY)."""
    seen = set()

    def profile(frame, event, arg):
        if event == "call":
            seen.add(frame.f_code.co_filename)

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    out = set()
    for name in seen:
        path = Path(name).resolve()
        if PACKAGE in path.parents:
            rel = path.relative_to(PACKAGE).as_posix()
            out.add(ENTRY.get(rel.split("/")[0], rel) if "/" in rel else rel)
    return out


@pytest.mark.slow  # one Stage II epoch of a feature-size-12 model
def test_a_stage2_epoch_reads_at_most_seven_files(tiny_train):
    """From the epoch loop (loss_weights, then train_epoch of Stage II), the forward, Eq. 5 with
    Eq. 8, backward and the optimiser step run in these files; with train.py at most 7."""
    cfg = make_config(
        "demo", stage=2, patch=(64, 32, 32), spacing_mm=(1.0, 1.0, 1.0), progress="off"
    )
    g = torch.Generator().manual_seed(0)
    image = torch.randn(1, 1, 64, 32, 32, generator=g)
    labels = (torch.rand(1, 3, 64, 32, 32, generator=g) > 0.7).float()
    case = CaseTensors("c", image, labels, torch.nonzero(labels[0, 1].flatten()).flatten(), None)
    run, _ = setup_run(cfg, STAGES[2], CPU, say=lambda *a: None)
    before = run.model.decoder_scar.head.weight.detach().clone()

    def one_epoch():
        weights = loss_weights(run.spec, cfg, 2)
        train_epoch(run, [case, case], cfg, weights, 2, NonFiniteBudget.for_amp(None))

    files = files_called(one_epoch)
    assert not torch.equal(before, run.model.decoder_scar.head.weight)  # steps were taken
    assert files == {
        "training/fit.py",
        "runtime/distributed.py",
        "augment/pipeline.py",
        "models/dual_swin_unetr.py",
        "losses/stage_losses.py",
        "losses/dice_ce.py",
    }, files
    assert len(files | {"train.py"}) <= 7
    body = inspect.getsource(train_step).splitlines()
    assert len(body) <= 40  # one screen
    for rel in files:
        assert len((PACKAGE / rel).read_text().splitlines()) <= 200, rel
