"""MONAI weights in and out (lascar_ref/checkpoints/init_weights.py, models/monai_keys.py,
checkpoints/export.py; docs/design.md §10). Every MONAI file is built from MONAI itself; nothing
is downloaded."""

import pytest
import torch

from lascar_ref.checkpoints import save_checkpoint
from lascar_ref.checkpoints.export import main as export_cli
from lascar_ref.checkpoints.init_weights import apply_weights, read_weights
from lascar_ref.errors import CheckpointError
from lascar_ref.models import SwinUNETR
from lascar_ref.models.monai_keys import to_monai_key
from lascar_ref.stage_table import STAGES, build_model

F = 12


@pytest.fixture
def monai_model(monai):
    from monai.networks.nets import SwinUNETR as MonaiSwinUNETR

    torch.manual_seed(3)
    return MonaiSwinUNETR(in_channels=1, out_channels=1, feature_size=F).eval()


@pytest.mark.slow  # full-size models
def test_export_then_monai_loads_it_and_agrees(tmp_path, monai_model):
    torch.manual_seed(0)
    ours = build_model(STAGES[2], F).eval()  # a Stage II checkpoint: export its scar decoder
    save_checkpoint(
        {
            "stage": 2,
            "arch": {"model": "DualSwinUNETR", "feature_size": F},
            "model": ours.state_dict(),
        },
        tmp_path / "stage2.pt",
    )
    assert export_cli([str(tmp_path / "stage2.pt"), str(tmp_path / "monai.pt")]) == 0
    monai_model.load_state_dict(torch.load(tmp_path / "monai.pt", weights_only=True), strict=True)
    x = torch.randn(1, 1, 64, 64, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert (monai_model(x) - ours(x)[1]).abs().max().item() < 1e-5
    assert (
        export_cli([str(tmp_path / "stage2.pt"), str(tmp_path / "la.pt"), "--decoder", "la"]) == 0
    )
    monai_model.load_state_dict(torch.load(tmp_path / "la.pt", weights_only=True), strict=True)
    with torch.no_grad():
        assert (monai_model(x) - ours(x)[0]).abs().max().item() < 1e-5


@pytest.mark.parametrize("wrap", ["plain", "module", "state_dict"])
def test_monai_state_dict_initialises_a_stage(tmp_path, monai_model, wrap):
    state = monai_model.state_dict()
    if wrap == "module":
        state = {"module." + k: v for k, v in state.items()}
    if wrap == "state_dict":
        state = {"state_dict": state, "epoch": 7}
    torch.save(state, tmp_path / "monai.pt")
    src = read_weights(tmp_path / "monai.pt")
    assert src.kind == "monai" and src.feature_size == F
    theirs = monai_model.state_dict()
    for stage, decoder in ((3, "D_scar"), (2, "D_LA")):
        spec = STAGES[stage]
        model = build_model(spec, F)
        loaded, report = apply_weights(src, model, spec)
        assert loaded == ["E", decoder] and "MONAI SwinUNETR" in report
        single = SwinUNETR(feature_size=F)
        single.encoder.load_state_dict(model.get_submodule(spec.groups["E"]).state_dict())
        single.decoder.load_state_dict(model.get_submodule(spec.groups[decoder]).state_dict())
        for key, value in single.state_dict().items():
            assert torch.equal(value, theirs[to_monai_key(key)]), key


def test_self_supervised_encoder_loads_e_only(tmp_path, monai_model):
    from monai.networks.nets import SwinUNETR as MonaiSwinUNETR

    swin = monai_model.swinViT.state_dict()  # MONAI's load_from layout, built from MONAI itself
    ssl = {
        "module." + k.replace("mlp.linear1", "mlp.fc1").replace("mlp.linear2", "mlp.fc2"): v
        for k, v in swin.items()
    }
    torch.save({"state_dict": ssl}, tmp_path / "ssl.pt")
    fresh = MonaiSwinUNETR(in_channels=1, out_channels=1, feature_size=F)
    fresh.load_from(torch.load(tmp_path / "ssl.pt", weights_only=True))  # MONAI reads this layout
    for key, value in fresh.swinViT.state_dict().items():
        assert torch.equal(value, swin[key]), key
    src = read_weights(tmp_path / "ssl.pt")
    assert src.kind == "ssl" and src.feature_size == F
    spec = STAGES[2]
    torch.manual_seed(0)
    model = build_model(spec, F)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loaded, report = apply_weights(src, model, spec)
    assert loaded == [] and "self-supervised Swin encoder" in report  # nothing protected
    for key, value in model.state_dict().items():
        if key.startswith("encoder.swin.") and "rel_index" not in key:
            assert torch.equal(value, swin[to_monai_key(key)[len("swinViT.") :]]), key
        else:  # skip blocks and decoders stay at their random initialisation
            assert torch.equal(value, before[key]), key


def test_train_accepts_monai_init_and_refuses_foreign_files(
    tmp_path, capsys, monai_model, tiny_train
):
    from conftest import load_script, tiny_cli

    torch.save(monai_model.state_dict(), tmp_path / "monai.pt")
    train = load_script("train")
    rc = train.main(
        [
            "--stage",
            "3",
            "--init",
            str(tmp_path / "monai.pt"),
            "--out",
            str(tmp_path / "run"),
            *tiny_cli(tiny_train),
        ]
    )
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "(MONAI SwinUNETR): loaded: E, D_scar <- decoder" in out.out
    torch.save({"weights": torch.ones(3)}, tmp_path / "foreign.pt")
    with pytest.raises(
        CheckpointError, match=r"foreign\.pt: neither a lascar_ref checkpoint, a MONAI"
    ):
        read_weights(tmp_path / "foreign.pt")
