"""Window invariants of the Swin encoder (lascar_ref/models/windows.py, window_attention.py,
swin_block.py) and the SDPA path against the explicit softmax path."""

import pytest
import torch

from lascar_ref.models import SwinUNETR
from lascar_ref.models.swin_block import SwinBlock
from lascar_ref.models.window_attention import relative_position_index
from lascar_ref.models.windows import (
    MASK_VALUE,
    cached_window_mask,
    clip_window,
    shifted_window_mask,
    window_partition,
    window_reverse,
)


def test_partition_reverse_round_trip():
    x = torch.randn(2, 14, 7, 21, 5)
    w = window_partition(x, (7, 7, 7))
    assert w.shape == (2 * 2 * 1 * 3, 343, 5)
    # first window holds the first 7x7x7 corner, flattened X-major
    assert torch.equal(w[0], x[0, :7, :7, :7].reshape(343, 5))
    assert torch.equal(window_reverse(w, (7, 7, 7), (2, 14, 7, 21)), x)


def test_clip_window_sets_shift_zero_on_small_axes():
    assert clip_window((32, 32, 16), (7, 7, 7), (3, 3, 3)) == ((7, 7, 7), (3, 3, 3))
    assert clip_window((8, 8, 4), (7, 7, 7), (3, 3, 3)) == ((7, 7, 4), (3, 3, 0))
    assert clip_window((7, 2, 1), (7, 7, 7), (3, 3, 3)) == ((7, 2, 1), (0, 0, 0))


def test_shifted_mask_hand_counted():
    # Grid 4^3, window 2^3, shift 1: along each axis window 0 = positions {0,1} (one region),
    # window 1 = {2,3} (regions 1 and 2). A window on the boundary along k axes masks
    # 64 - 8 * 2^(3-k) of its 64 ordered pairs; C(3,k) windows have k boundary axes.
    mask = shifted_window_mask((4, 4, 4), (2, 2, 2), (1, 1, 1), torch.device("cpu"))
    assert mask.shape == (8, 8, 8)
    expected = 3 * (64 - 8 * 4) + 3 * (64 - 8 * 2) + 1 * (64 - 8 * 1)
    assert int((mask == MASK_VALUE).sum()) == expected == 296
    assert set(mask.unique().tolist()) == {MASK_VALUE, 0.0}
    assert int((mask[0] != 0).sum()) == 0  # the interior window is unmasked


def test_shift_zero_axis_is_one_region():
    mask = shifted_window_mask((4, 4, 2), (2, 2, 2), (1, 1, 0), torch.device("cpu"))
    # 2 x 2 x 1 windows; only X and Y split regions:
    # two windows with one boundary axis, one with two
    expected = 2 * (64 - 8 * 4) + 1 * (64 - 8 * 2)
    assert int((mask == MASK_VALUE).sum()) == expected


def test_relative_position_index_small_window():
    idx = relative_position_index((2, 2, 2))
    assert idx.shape == (8, 8)
    assert int(idx[0, 0]) == 1 * 9 + 1 * 3 + 1  # (0,0,0) offset sits at the table centre
    assert int(idx[7, 0]) == 2 * 9 + 2 * 3 + 2  # (+1,+1,+1)
    assert int(idx[0, 7]) == 0  # (-1,-1,-1)


def _block(shift):
    torch.manual_seed(0)
    return SwinBlock(dim=6, heads=2, window=(2, 2, 2), shift=shift).eval()


def test_shifted_block_isolates_regions():
    # roll by -1: original position 0 lands in the last (wrapped) region of a boundary window,
    # sharing that window with original position 3, which it must not see.
    block = _block((1, 1, 1))
    mask = shifted_window_mask((4, 4, 4), (2, 2, 2), (1, 1, 1), torch.device("cpu"))
    x = torch.randn(1, 4, 4, 4, 6)
    x2 = x.clone()
    x2[0, 0, 0, 0] += 3.0 * torch.randn(6)  # not a constant: LayerNorm would cancel it
    with torch.no_grad():
        changed = (block(x2, mask) - block(x, mask)).abs().amax(-1)[0] > 1e-6
        leaky = (block(x2, torch.zeros_like(mask)) - block(x, torch.zeros_like(mask))).abs().amax(
            -1
        )[0] > 1e-6
    assert changed[0, 0, 0] and int(changed.sum()) == 1
    assert leaky[3, 3, 3] and int(leaky.sum()) == 8  # without the mask the wrapped window mixes


def test_unshifted_block_mixes_within_window_only():
    block = _block((0, 0, 0))
    x = torch.randn(1, 4, 4, 4, 6)
    x2 = x.clone()
    x2[0, 0, 0, 0] += 3.0 * torch.randn(6)
    with torch.no_grad():
        changed = (block(x2, None) - block(x, None)).abs().amax(-1)[0] > 1e-6
    assert changed[:2, :2, :2].all() and int(changed.sum()) == 8


@pytest.mark.slow  # full-size backward passes
def test_sdpa_equals_explicit_forward_and_gradients():
    torch.manual_seed(0)
    sdpa = SwinUNETR(feature_size=12, attn_impl="sdpa")
    explicit = SwinUNETR(feature_size=12, attn_impl="explicit")
    explicit.load_state_dict(sdpa.state_dict())
    x = torch.randn(1, 1, 64, 64, 32)  # stage-1 grid 32x32x16: shifted windows with a mask
    ys, ye = sdpa(x), explicit(x)
    assert torch.allclose(ys, ye, atol=1e-5)
    ys.square().mean().backward()
    ye.square().mean().backward()
    for (name, ps), pe in zip(sdpa.named_parameters(), explicit.parameters()):
        assert ps.grad is not None and torch.isfinite(ps.grad).all(), name
        assert torch.allclose(ps.grad, pe.grad, atol=1e-5, rtol=1e-4), name


@pytest.mark.slow  # full-size backward passes
def test_gradient_checkpointing_same_gradients():
    torch.manual_seed(0)
    plain = SwinUNETR(feature_size=12)
    ckpt = SwinUNETR(feature_size=12, use_checkpoint=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(1, 1, 32, 32, 64)
    plain(x).sum().backward()
    ckpt(x).sum().backward()
    for p, q in zip(plain.parameters(), ckpt.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-5, rtol=1e-4)


def test_window_attention_paths_agree_for_a_batch_with_mask():
    from lascar_ref.models.window_attention import WindowAttention

    torch.manual_seed(0)
    sdpa = WindowAttention(12, 3, (2, 2, 2), attn_impl="sdpa")
    explicit = WindowAttention(12, 3, (2, 2, 2), attn_impl="explicit")
    explicit.load_state_dict(sdpa.state_dict())
    mask = shifted_window_mask((4, 4, 4), (2, 2, 2), (1, 1, 1), torch.device("cpu"))  # nW = 8
    x = torch.randn(2 * 8, 8, 12, requires_grad=True)  # B = 2
    a, b = sdpa(x, mask), explicit(x, mask)
    assert torch.allclose(a, b, atol=1e-6)
    (ga,) = torch.autograd.grad(a.square().sum(), x)
    (gb,) = torch.autograd.grad(b.square().sum(), x)
    assert torch.allclose(ga, gb, atol=1e-5)
    # the mask matters: window 7 of sample 1 differs from an unmasked computation
    assert not torch.allclose(sdpa(x, None), a, atol=1e-4)


def test_the_cached_mask_is_the_mask_built_once_and_serves_training_after_inference():
    args = ((4, 4, 4), (2, 2, 2), (1, 1, 1), torch.device("cpu"))
    cached_window_mask.cache_clear()
    with torch.inference_mode():  # first built inside validation's inference mode
        first = cached_window_mask(*args)
    assert not first.is_inference()  # else a training step could not use it
    assert cached_window_mask(*args) is first  # built once
    assert torch.equal(first, shifted_window_mask(*args))
    logits = torch.zeros(8, 8, 8, requires_grad=True)
    (logits.exp() + first).softmax(-1).sum().backward()  # a graph through the cached mask
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
