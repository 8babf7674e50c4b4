"""The stage table (lascar_ref/stage_table.py, labels.py; paper §3.2; docs/design.md §2): each
stage's data, model, outputs, lr groups and loss, the label channels, and the freeze of a loaded
Stage III encoder."""

import pytest
import torch
from conftest import one_step, tiny_batch

from lascar_ref.labels import LABEL_CHANNELS, split_labels
from lascar_ref.losses import stage1_loss, stage2_loss, stage3_loss
from lascar_ref.stage_table import STAGES, LossWeights, build_model, freeze, param_groups

W = LossWeights(lam=0.5, beta_la=0.3, beta_scar=0.7, alpha_t=1.0)


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
    _, labels = tiny_batch()
    y = split_labels(labels)
    assert y._fields == LABEL_CHANNELS == ("la", "scar", "wall")
    assert torch.equal(y.scar, labels[:, 1:2]) and torch.equal(y.wall, labels[:, 2:3])
    with pytest.raises(ValueError, match=r"\(B, 3, X, Y, Z\)"):
        split_labels(labels[:, :2])


def test_stage_losses_equal_the_equations_on_explicit_channels():
    _, labels = tiny_batch()
    la, scar, wall = labels[:, 0:1], labels[:, 1:2], labels[:, 2:3]
    g = torch.Generator().manual_seed(1)
    logit_a, logit_b = (
        torch.randn(1, 1, 64, 32, 32, generator=g),
        torch.randn(1, 1, 64, 32, 32, generator=g),
    )
    s1 = STAGES[1].loss(logit_a, labels, W)
    s2 = STAGES[2].loss((logit_a, logit_b), labels, W)
    s3 = STAGES[3].loss(logit_b, labels, W)
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
    assert STAGES[2].loss((logit_a, logit_b), swapped, W)["loss"] != s2["loss"]
    assert STAGES[1].loss(logit_a, swapped, W)["loss"] != s1["loss"]
    # the wall channel enters only Stage II, through W = 1 + alpha * M_wall (Eq. 7-8)
    no_wall = labels.clone()
    no_wall[:, 2] = 0
    assert STAGES[2].loss((logit_a, logit_b), no_wall, W)["scar"] != s2["scar"]
    assert torch.equal(STAGES[3].loss(logit_b, no_wall, W)["loss"], s3["loss"])


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
