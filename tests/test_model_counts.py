"""Parameter counts (docs/design.md §1), derived, never copied: the single model is counted against
MONAI's own SwinUNETR(1, 1, feature_size=48); one decoder is counted by hand from its layers; the
dual model of Eq. 4 is the single model plus one decoder. (The paper's 62.6 M is not reproduced
by any standard SwinUNETR configuration; see the README.)"""

from lascar_ref.models import DualSwinUNETR, SwinUNETR


def count(module):
    return sum(p.numel() for p in module.parameters())


def decoder_by_hand(f: int) -> int:
    """Five up-blocks (ConvT 2^3 without bias, then a residual block: two 3^3 convs on 2C -> C and
    C -> C without bias, plus a 1x1 projection of 2C -> C) and a 1x1 head with bias."""

    def up(ci, co):
        return ci * co * 8 + 2 * co * co * 27 + co * co * 27 + 2 * co * co

    return up(16 * f, 8 * f) + up(8 * f, 4 * f) + up(4 * f, 2 * f) + up(2 * f, f) + up(f, f) + f + 1


def test_single_count_equals_monai_model(monai):
    from monai.networks.nets import SwinUNETR as MonaiSwinUNETR

    theirs = MonaiSwinUNETR(in_channels=1, out_channels=1, feature_size=48)
    assert count(SwinUNETR(feature_size=48)) == count(theirs)


def test_decoder_count_by_hand():
    for f in (12, 48):
        assert count(SwinUNETR(feature_size=f).decoder) == decoder_by_hand(f)


def test_dual_count_is_single_plus_one_decoder():
    f = 48
    single, dual = count(SwinUNETR(feature_size=f)), count(DualSwinUNETR(feature_size=f))
    assert dual == single + decoder_by_hand(f)
    assert count(DualSwinUNETR(feature_size=f).decoder_scar) == decoder_by_hand(f)
