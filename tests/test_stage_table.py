"""The stage table (lascar_ref/stage_table.py, labels.py; paper §3.2; docs/design.md §2): each
stage's data, model, outputs, groups, lr groups and loss, the label channels, the freeze of a
loaded Stage III encoder, and that no other module compares a stage number (item 2 of the
restructuring: each stage fact in one place)."""

import ast
from pathlib import Path

import pytest
import torch
from conftest import one_step, tiny_batch

from lascar_ref.labels import LA, LABEL_CHANNELS, SCAR, WALL, channel
from lascar_ref.losses import dice_ce_loss, spatial_weight, stage1_loss, stage2_loss, stage3_loss
from lascar_ref.stage_table import STAGES, build_model, freeze, param_groups

W = {"lam": 0.5, "beta_la": 0.3, "beta_scar": 0.7, "alpha_t": 1.0}
ROOT = Path(__file__).resolve().parents[1]


def _step(model, spec, lr, loaded=(), **kw):
    optimizer = torch.optim.AdamW(param_groups(model, spec, list(loaded), lr, 0.1), lr=lr)
    return one_step(model, spec, optimizer, W, **kw)


def test_stage_table_is_the_papers():
    assert [STAGES[s].trains_on for s in (1, 2, 3)] == [(2, 1), (1,), (1,)]
    assert [STAGES[s].target for s in (1, 2, 3)] == ["la", "scar", "scar"]
    assert [STAGES[s].outputs for s in (1, 2, 3)] == [("la",), ("la", "scar"), ("scar",)]
    assert [STAGES[s].model.__name__ for s in (1, 2, 3)] == [
        "SwinUNETR",
        "DualSwinUNETR",
        "SwinUNETR",
    ]
    assert STAGES[2].slow_if_loaded == ("E", "D_LA") and STAGES[2].wall_prior
    assert not STAGES[1].wall_prior and not STAGES[3].wall_prior
    assert set(STAGES[3].frozen_if_loaded) == {"E"}
    assert [STAGES[s].init_from for s in (1, 2, 3)] == [(), (1,), (1, 2)]
    assert STAGES[3].missing_decoder == {"D_scar": "D_LA"} and not STAGES[2].missing_decoder
    assert [STAGES[s].monai_decoder for s in (1, 2, 3)] == ["D_LA", "D_LA", "D_scar"]
    assert [set(STAGES[s].groups) for s in (1, 2, 3)] == [
        {"E", "D_LA"},
        {"E", "D_LA", "D_scar"},
        {"E", "D_scar"},
    ]
    assert STAGES[2].decoders == {"la": "decoder_la", "scar": "decoder_scar"}
    assert STAGES[2].loss_weights == ("lam", "alpha_t", "beta_la", "beta_scar", "wall_weighting")


def test_every_group_prefix_names_a_module_of_the_stage_model():
    for spec in STAGES.values():
        model = build_model(spec, 12)
        n = sum(p.numel() for p in model.parameters())
        parts = [model.get_submodule(prefix) for prefix in spec.groups.values()]
        assert sum(p.numel() for m in parts for p in m.parameters()) == n, spec.roman
        assert set(spec.decoders) == set(spec.outputs)  # one decoder per output structure


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
    assert LABEL_CHANNELS == ("la", "scar", "wall") and channel("wall") == 2
    assert torch.equal(labels[:, LA], labels[:, 0:1]) and torch.equal(
        labels[:, WALL], labels[:, 2:3]
    )
    assert labels[:, SCAR].shape == (1, 1, 64, 32, 32)  # the slices keep the channel axis


def test_stage_losses_equal_the_equations_on_explicit_channels():
    _, labels = tiny_batch()
    la, scar, wall = labels[:, 0:1], labels[:, 1:2], labels[:, 2:3]
    g = torch.Generator().manual_seed(1)
    logit_a, logit_b = (
        torch.randn(1, 1, 64, 32, 32, generator=g),
        torch.randn(1, 1, 64, 32, 32, generator=g),
    )
    s1 = STAGES[1].loss(logit_a, labels, lam=0.5)
    s2 = STAGES[2].loss((logit_a, logit_b), labels, **W)
    s3 = STAGES[3].loss(logit_b, labels, lam=0.5)
    assert STAGES[1].loss is stage1_loss and STAGES[3].loss is stage3_loss  # no adapter between
    assert STAGES[2].loss is stage2_loss
    assert torch.equal(s1["loss"], dice_ce_loss(logit_a, la, 0.5)["loss"])
    w = spatial_weight(wall, 1.0)  # Eq. 7, then Eq. 5 with Eq. 8 from its two DiceCE terms
    l_la, l_scar = dice_ce_loss(logit_a, la, 0.5), dice_ce_loss(logit_b, scar, 0.5, weight=w)
    assert torch.equal(s2["loss"], 0.3 * l_la["loss"] + 0.7 * l_scar["loss"])
    assert torch.equal(s3["loss"], dice_ce_loss(logit_b, scar, 0.5)["loss"])
    # Eq. 5 by hand from its terms, and the channels matter: swapping LA and scar changes the loss
    assert s2["loss"].item() == pytest.approx(
        0.3 * s2["la"].item() + 0.7 * s2["scar"].item(), rel=1e-6
    )
    swapped = labels[:, [1, 0, 2]]
    assert STAGES[2].loss((logit_a, logit_b), swapped, **W)["loss"] != s2["loss"]
    assert STAGES[1].loss(logit_a, swapped, lam=0.5)["loss"] != s1["loss"]
    # the wall channel enters only Stage II, through W = 1 + alpha * M_wall (Eq. 7-8)
    no_wall = labels.clone()
    no_wall[:, 2] = 0
    assert STAGES[2].loss((logit_a, logit_b), no_wall, **W)["scar"] != s2["scar"]
    assert torch.equal(STAGES[3].loss(logit_b, no_wall, lam=0.5)["loss"], s3["loss"])


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


def _stage_named(node: ast.AST) -> bool:
    """An expression that names a stage: stage, cfg.stage, spec.number, state["stage"], ..."""
    text = ast.unparse(node).lower()
    return "stage" in text or text.endswith(".number")


def _int_literals(node: ast.AST) -> bool:
    """An int literal, or a tuple / list / set of them (`stage in (1, 2, 3)`)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return bool(node.elts) and all(_int_literals(e) for e in node.elts)
    return False


def stage_number_comparisons(source: str, name: str) -> list[str]:
    """Every comparison of a stage-named expression with an int literal, as "file:line: code"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        for a, b in zip(sides, sides[1:]):
            if (_stage_named(a) and _int_literals(b)) or (_stage_named(b) and _int_literals(a)):
                found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    return found


def checked_files() -> list[Path]:
    """Every module of lascar_ref/ except the table itself, and the three scripts."""
    package = sorted((ROOT / "lascar_ref").rglob("*.py"))
    scripts = [ROOT / f"{s}.py" for s in ("train", "eval", "predict")]
    return [p for p in package + scripts if p.name != "stage_table.py"]


def test_no_module_compares_a_stage_number():
    found = []
    for path in checked_files():
        found += stage_number_comparisons(path.read_text(), str(path.relative_to(ROOT)))
    assert not found, "stage facts belong in lascar_ref/stage_table.py:\n" + "\n".join(found)


def test_module_prefixes_are_written_only_in_the_models_and_the_table():
    prefixes = ("decoder_la", "decoder_scar")
    found = [
        str(p.relative_to(ROOT))
        for p in checked_files()
        if "models" not in p.parts and any(f'"{x}' in p.read_text() for x in prefixes)
    ]
    assert not found, found


def test_the_stage_number_check_catches_what_it_should():
    caught = stage_number_comparisons(
        "if cfg.stage == 1: pass\nok = 2 < spec.number\nx = state['stage'] in (1, 2)\n", "f"
    )
    assert len(caught) == 3
    assert not stage_number_comparisons("if n_folds == 1 or stage == other: pass\n", "f")
