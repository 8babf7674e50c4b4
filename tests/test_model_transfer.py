"""Weight transfer between stages (lascar_ref/models/transfer.py, init_weights.transfer_stage;
the groups and what may initialise what from the stage table; docs/design.md §2)."""

import pytest
import torch

from lascar_ref.checkpoints.init_weights import transfer_stage
from lascar_ref.models import DualSwinUNETR, SwinUNETR
from lascar_ref.models.transfer import transfer_weights
from lascar_ref.stage_table import STAGES

F = 12


def _states_equal(a, b):
    return all(torch.equal(a[k], b[k]) for k in a) and set(a) == set(b)


def test_stage2_from_stage1_copies_encoder_and_la_decoder():
    torch.manual_seed(0)
    s1 = SwinUNETR(feature_size=F)
    s2 = DualSwinUNETR(feature_size=F)
    fresh_scar = {k: v.clone() for k, v in s2.decoder_scar.state_dict().items()}
    report = transfer_stage(s1.state_dict(), 1, s2, STAGES[2], "s1")
    assert report.loaded == ["E", "D_LA"] and report.new == ["D_scar"] and report.dropped == []
    assert _states_equal(s2.encoder.state_dict(), s1.encoder.state_dict())
    assert _states_equal(s2.decoder_la.state_dict(), s1.decoder.state_dict())
    assert _states_equal(s2.decoder_scar.state_dict(), fresh_scar)
    assert not torch.equal(s2.decoder_scar.head.weight, s1.decoder.head.weight)


def test_stage3_from_stage2_gives_same_scar_logits():
    torch.manual_seed(0)
    s2 = DualSwinUNETR(feature_size=F).eval()
    s3 = SwinUNETR(feature_size=F).eval()
    report = transfer_stage(s2.state_dict(), 2, s3, STAGES[3], "s2")
    assert report.loaded == ["E", "D_scar"] and report.dropped == ["D_LA"] and report.new == []
    x = torch.randn(1, 1, 64, 32, 32)
    with torch.no_grad():
        la, scar = s2(x)
        assert torch.equal(s3(x), scar)
        assert not torch.equal(la, scar)


def test_stage3_from_stage1_initialises_scar_decoder_from_la():
    s1, s3 = SwinUNETR(feature_size=F), SwinUNETR(feature_size=F)
    report = transfer_stage(s1.state_dict(), 1, s3, STAGES[3], "s1")
    assert report.loaded == ["E", "D_scar <- D_LA"]
    assert _states_equal(s3.state_dict(), s1.state_dict())
    assert "D_scar <- D_LA" in str(report)


def test_refuses_same_or_later_stage_and_wrong_architecture():
    s2 = DualSwinUNETR(feature_size=F)
    with pytest.raises(ValueError, match=r"stage3\.pt.*Stage 2.*from Stage 3"):
        transfer_stage(SwinUNETR(feature_size=F).state_dict(), 3, s2, STAGES[2], "stage3.pt")
    with pytest.raises(ValueError, match=r"stage1\.pt.*does not match"):
        transfer_stage(SwinUNETR(feature_size=24).state_dict(), 1, s2, STAGES[2], "stage1.pt")


def test_transfer_takes_its_groups_from_the_caller():
    """models/transfer.py knows no stage: two one-decoder models, groups named by the caller."""
    a, b = SwinUNETR(feature_size=F), SwinUNETR(feature_size=F)
    report = transfer_weights(a.state_dict(), {"E": "encoder"}, b, {"E": "encoder", "D": "decoder"})
    assert report.loaded == ["E"] and report.new == ["D"]
    assert _states_equal(b.encoder.state_dict(), a.encoder.state_dict())
    assert not torch.equal(b.decoder.head.weight, a.decoder.head.weight)
