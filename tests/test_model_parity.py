"""Exact parity with MONAI 1.6.1 SwinUNETR given the same weights (docs/design.md §1), the MONAI key
map round trip (lascar_ref/models/monai_keys.py), the legacy merge order and the size check."""

import pytest
import torch
import torch.nn.functional as F

from lascar_ref.models import SwinUNETR, check_spatial_size
from lascar_ref.models.monai_keys import (
    export_monai_state_dict,
    from_monai_state_dict,
    load_monai_state_dict,
)
from lascar_ref.models.patch_ops import LEGACY_MERGE_ORDER, MERGE_ORDER


def monai_swin_unetr(monai, feature_size=48):
    from monai.networks.nets import SwinUNETR as MonaiSwinUNETR

    return MonaiSwinUNETR(
        in_channels=1,
        out_channels=1,
        patch_size=2,
        depths=(2, 2, 2, 2),
        num_heads=(3, 6, 12, 24),
        window_size=7,
        qkv_bias=True,
        mlp_ratio=4.0,
        feature_size=feature_size,
        norm_name="instance",
        drop_rate=0.0,
        attn_drop_rate=0.0,
        dropout_path_rate=0.0,
        normalize=True,
        patch_norm=False,
        use_checkpoint=False,
        spatial_dims=3,
        downsample="merging",
        use_v2=False,
        use_flash_attention=False,
    ).eval()


@pytest.fixture(scope="module")
def pair():
    from conftest import require_monai

    monai = require_monai()
    torch.manual_seed(0)
    theirs = monai_swin_unetr(monai)
    ours = from_monai_state_dict(theirs.state_dict()).eval()
    return theirs, ours


@pytest.mark.slow  # full-size forward passes
@pytest.mark.parametrize("shape", [(1, 1, 64, 64, 32), (1, 1, 96, 64, 64)])
def test_outputs_match_monai(pair, shape):
    theirs, ours = pair
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = theirs(x), ours(x)
    assert a.shape == b.shape == shape
    assert (a - b).abs().max() < 1e-5, float((a - b).abs().max())
    assert a.std() > 0.01  # a non-trivial output, not two zeros


@pytest.mark.slow  # full-size forward passes
def test_explicit_path_matches_monai_in_training_mode(pair):
    theirs, ours = pair
    explicit = SwinUNETR(attn_impl="explicit")
    explicit.load_state_dict(ours.state_dict())
    x = torch.randn(1, 1, 64, 64, 32, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(theirs.train()(x), explicit.train()(x), atol=1e-5)
    theirs.eval()


def test_state_dict_round_trip_every_key(pair):
    theirs, ours = pair
    monai_state = theirs.state_dict()
    exported = export_monai_state_dict(ours)
    assert set(exported) == set(monai_state)
    for key, value in monai_state.items():
        assert torch.equal(exported[key], value), key
    prefixed = {"module." + k: v for k, v in monai_state.items()}
    again = SwinUNETR()
    load_monai_state_dict(again, prefixed)
    for key, value in ours.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key


def test_bad_state_dict_names_source(pair):
    theirs, _ = pair
    state = dict(theirs.state_dict())
    del state["out.conv.conv.bias"]
    with pytest.raises(ValueError, match=r"weights\.pt.*out\.conv\.conv\.bias"):
        load_monai_state_dict(SwinUNETR(), state, source="weights.pt")


def _legacy_forward(self, x):
    """MONAI <= 1.4 PatchMerging.forward, reproduced here from its published order."""
    x = F.pad(x, (0, 0, 0, x.shape[3] % 2, 0, x.shape[2] % 2, 0, x.shape[1] % 2))
    parts = [
        x[:, 0::2, 0::2, 0::2],
        x[:, 1::2, 0::2, 0::2],
        x[:, 0::2, 1::2, 0::2],
        x[:, 0::2, 0::2, 1::2],
        x[:, 1::2, 0::2, 1::2],
        x[:, 0::2, 1::2, 0::2],
        x[:, 0::2, 0::2, 1::2],
        x[:, 1::2, 1::2, 1::2],
    ]
    return self.reduction(self.norm(torch.cat(parts, -1)))


@pytest.mark.slow  # full-size forward passes
def test_legacy_merge_order_matches_old_monai(pair, monkeypatch):
    theirs, ours = pair
    assert len(set(LEGACY_MERGE_ORDER)) == 6 and len(set(MERGE_ORDER)) == 8
    legacy = from_monai_state_dict(theirs.state_dict(), legacy_merge_order=True).eval()
    x = torch.randn(1, 1, 64, 64, 32, generator=torch.Generator().manual_seed(3))
    from monai.networks.nets import swin_unetr as monai_swin

    with torch.no_grad():
        modern = theirs(x)
        monkeypatch.setattr(monai_swin.PatchMerging, "forward", _legacy_forward)
        old = theirs(x)
        ours_legacy = legacy(x)
    assert (modern - old).abs().max() > 1e-3  # the switch changes the output
    assert (old - ours_legacy).abs().max() < 1e-5


def test_size_check_names_nearest_valid_sizes():
    with pytest.raises(ValueError, match=r"X=228 \(nearest valid: 224 or 256\)"):
        check_spatial_size((1, 1, 228, 192, 32))
    with pytest.raises(ValueError, match=r"Z=40 \(nearest valid: 32 or 64\)"):
        SwinUNETR(feature_size=12)(torch.zeros(1, 1, 64, 64, 40))
    with pytest.raises(ValueError, match=r"at least one spatial size must be >= 64"):
        check_spatial_size((1, 1, 32, 32, 32))
    check_spatial_size((1, 1, 224, 192, 32))  # the docs/design.md §0 patch is accepted
