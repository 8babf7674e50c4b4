"""The scar head's output bias at the prior (lascar_ref/training/head_init.py; docs/design.md §2):
pi by hand, sigmoid(b) = pi, only a new scar head's bias moves, and train.py applies it."""

import math
from types import SimpleNamespace

import pytest
import torch

from lascar_ref.stage_table import STAGES, build_model
from lascar_ref.training.head_init import init_scar_bias, prior_bias, scar_prior


def case(scar_voxels: int, shape=(4, 4, 2)):
    labels = torch.zeros(1, 3, *shape)
    labels[0, 1].view(-1)[:scar_voxels] = 1.0  # channel 1: scar
    labels[0, 0] = 1.0  # the LA channel must not count
    return SimpleNamespace(labels=labels)


def test_the_prior_is_the_scar_fraction_by_hand():
    assert scar_prior([case(2), case(6)]) == pytest.approx(8 / 64)  # 8 of 2 x 32 voxels
    b = prior_bias(0.01)
    assert b == pytest.approx(math.log(0.01 / 0.99))
    assert 1 / (1 + math.exp(-b)) == pytest.approx(0.01)
    assert math.isnan(scar_prior([case(0)]))  # no scar: no prior
    model = build_model(STAGES[2], 12, False)
    bias = model.decoder_scar.head.bias.clone()
    said = init_scar_bias(model, STAGES[2], ["E", "D_LA"], math.nan)
    assert "keeps torch's default bias" in said and torch.equal(model.decoder_scar.head.bias, bias)


def test_only_a_new_scar_heads_bias_moves():
    torch.manual_seed(0)
    model = build_model(STAGES[2], 12, False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    said = init_scar_bias(model, STAGES[2], ["E", "D_LA"], 0.004)
    assert "pi = 0.00400" in said
    after = model.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed == ["decoder_scar.head.bias"]
    assert after["decoder_scar.head.bias"].item() == pytest.approx(math.log(0.004 / 0.996))
    # a loaded scar head (Stage II -> III, or I -> III's D_scar <- D_LA) is never touched
    model3 = build_model(STAGES[3], 12, False)
    bias = model3.decoder.head.bias.clone()
    assert init_scar_bias(model3, STAGES[3], ["E", "D_scar"], 0.004) == ""
    assert torch.equal(model3.decoder.head.bias, bias)
    assert init_scar_bias(model3, STAGES[3], [], 0.004) != ""  # B1: Stage III from scratch
    assert init_scar_bias(build_model(STAGES[1], 12, False), STAGES[1], [], 0.004) == ""


def test_the_prior_is_the_default_of_every_preset():
    from lascar_ref.config import make_config

    assert make_config().scar_bias_init == "prior" == make_config("demo").scar_bias_init
