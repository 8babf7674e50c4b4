"""--channels-last and --compile change speed, not results — docs/design.md §11,
lascar_ref/runtime/speed.py.

Each option is compared with the default eager model given the same weights and input, in fp32
on the CPU: outputs and every parameter gradient within 1e-5; state-dict keys unchanged.
"""

import copy

import pytest
import torch

from lascar_ref.config import make_config
from lascar_ref.runtime.speed import MEMORY_FORMAT, apply_speed_options
from lascar_ref.stage_table import STAGES, build_model
from lascar_ref.training.setup import setup_run

pytestmark = pytest.mark.slow  # compiles the model


def outputs_and_grads(model, x):
    """Forward + backward of a fixed function of every output; (outputs, {name: grad})."""
    model.zero_grad(set_to_none=True)
    out = model(x)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    loss = sum((o.float() * torch.linspace(-1, 1, o.numel()).view_as(o)).mean() for o in outs)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return [o.detach() for o in outs], grads


def assert_same(reference, other, tol=1e-5):
    (ref_out, ref_grads), (out, grads) = reference, other
    for a, b in zip(ref_out, out, strict=True):
        assert float((a - b).abs().max()) <= tol
    assert grads.keys() == ref_grads.keys()
    worst = max(float((ref_grads[k] - grads[k]).abs().max()) for k in ref_grads)
    assert worst <= tol, worst
    assert max(float(g.abs().max()) for g in grads.values()) > 1e-4  # gradients are not all ~0


def big_conv(model) -> torch.Tensor:
    """A 3x3x3 convolution kernel with several input channels (where the layouts differ)."""
    return next(
        m.weight
        for m in model.modules()
        if isinstance(m, torch.nn.Conv3d) and m.in_channels > 1 and m.kernel_size == (3, 3, 3)
    )


def test_channels_last_equals_default_layout():
    torch.manual_seed(0)
    model = build_model(STAGES[2], 12)  # the dual model: both decoders
    x = torch.randn(2, 1, 64, 64, 32)
    reference = outputs_and_grads(model, x)
    fast = apply_speed_options(copy.deepcopy(model), channels_last=True)
    conv = big_conv(fast)
    assert conv.is_contiguous(memory_format=MEMORY_FORMAT) and not conv.is_contiguous()
    assert list(fast.state_dict()) == list(model.state_dict())
    assert_same(reference, outputs_and_grads(fast, x))


def test_compile_equals_eager():
    """torch.compile (TorchInductor, C++ on the CPU) of the Stage I model; the first call
    compiles, which takes a minute or two on 2 cores."""
    torch.manual_seed(0)
    model = build_model(STAGES[1], 12)
    x = torch.randn(1, 1, 64, 32, 32)
    reference = outputs_and_grads(model, x)
    fast = apply_speed_options(copy.deepcopy(model), compile=True)
    assert list(fast.state_dict()) == list(model.state_dict())  # checkpoints interchangeable
    assert_same(reference, outputs_and_grads(fast, x))


@pytest.mark.parametrize("option", ["channels_last", "compile"])
def test_training_runs_apply_the_options(tiny_train, tmp_path, option):
    cfg = make_config(stage=1, out=str(tmp_path), **{**tiny_train, option: True})
    run, _ = setup_run(cfg, STAGES[1], torch.device("cpu"), say=lambda *a: None)
    if option == "channels_last":
        assert big_conv(run.model).is_contiguous(memory_format=MEMORY_FORMAT)
    else:
        assert run.model._compiled_call_impl is not None  # nn.Module.compile() was applied
    plain = make_config(stage=1, out=str(tmp_path), **tiny_train)
    base, _ = setup_run(plain, STAGES[1], torch.device("cpu"), say=lambda *a: None)
    assert all(
        torch.equal(v, base.model.state_dict()[k]) for k, v in run.model.state_dict().items()
    )
