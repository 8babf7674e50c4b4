"""Parameter counts (DESIGN.md §1). The paper's 62.6 M is not reproduced by any standard
SwinUNETR configuration; MONAI's SwinUNETR(1, 1, feature_size=48) has 62,186,659."""
from lascar_ref.models import DualSwinUNETR, SwinUNETR

MONAI_SWIN_UNETR_F48 = 62_186_659  # sum(p.numel()) of MONAI 1.6.1 SwinUNETR(1, 1, feature_size=48)


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_single_decoder_count_equals_monai():
    assert count(SwinUNETR(feature_size=48)) == MONAI_SWIN_UNETR_F48


def test_single_count_matches_monai_model(monai):
    from monai.networks.nets import SwinUNETR as MonaiSwinUNETR
    theirs = MonaiSwinUNETR(in_channels=1, out_channels=1, feature_size=48)
    assert count(theirs) == count(SwinUNETR(feature_size=48))


def test_dual_count_is_encoder_plus_two_decoders():
    single, dual = SwinUNETR(feature_size=48), DualSwinUNETR(feature_size=48)
    decoder = count(single.decoder)
    # one decoder = five up-blocks (ConvT 2^3 + ResBlock with 1x1 projection) + a 1x1 head with bias
    f = 48
    def up(ci, co):
        return ci * co * 8 + 2 * co * co * 27 + co * co * 27 + 2 * co * co
    assert decoder == up(16 * f, 8 * f) + up(8 * f, 4 * f) + up(4 * f, 2 * f) + up(2 * f, f) + up(f, f) + f + 1
    assert count(dual) == MONAI_SWIN_UNETR_F48 + decoder == 81_784_532
    # DESIGN.md §1 quotes 81,784,581 = 81,784,532 + 49: one more 1x1 head (48 weights + 1 bias),
    # as a two-channel scar head would have. We keep one logit per task (DESIGN.md §1, STYLE rule 8).
    assert 81_784_581 - count(dual) == f + 1
