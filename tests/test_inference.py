"""Sliding-window inference (lascar_ref/inference/sliding_window.py, docs/design.md §6)."""

import itertools
import math

import pytest
import torch

from lascar_ref.inference.sliding_window import (
    gaussian_importance,
    sliding_window_probs,
    window_starts,
)


def test_twelve_windows_on_the_preprocessed_volume():
    starts = [window_starts(n, p) for n, p in zip((384, 256, 40), (224, 192, 32))]
    assert starts == [[0, 112, 160], [0, 64], [0, 8]]
    assert len(list(itertools.product(*starts))) == 12


def test_identity_model_reproduces_the_input():
    g = torch.Generator().manual_seed(0)
    probs = torch.rand(1, 1, 50, 37, 20, generator=g) * 0.98 + 0.01
    logits = torch.logit(probs)
    calls = []

    def predict(x):
        calls.append(x.shape[0])
        return x

    out = sliding_window_probs(logits, predict, patch=(32, 24, 16), batch_size=3, progress=False)
    assert out.shape == probs.shape
    assert torch.allclose(out, probs, atol=1e-6)
    assert sum(calls) == 3 * 3 * 2  # windows along X, Y, Z
    mirrored = sliding_window_probs(
        logits, predict, patch=(32, 24, 16), mirror=True, progress=False
    )
    assert torch.allclose(mirrored, probs, atol=1e-6)


def test_volume_smaller_than_patch_is_padded_and_cropped_back():
    x = torch.randn(1, 1, 20, 30, 8)
    out = sliding_window_probs(x, lambda t: t, patch=(32, 32, 16), progress=False)
    assert out.shape == x.shape and torch.allclose(out, torch.sigmoid(x), atol=1e-6)


def test_gaussian_importance_map():
    w = gaussian_importance((33, 17, 9), torch.device("cpu"))
    assert w[16, 8, 4] == 1.0 and w.max() == 1.0
    # sigma = patch / 8: 33 / 8 = 4.125 voxels along X
    assert w[16 + 4, 8, 4].item() == pytest.approx(math.exp(-0.5 * (4 / 4.125) ** 2), rel=1e-5)
    assert w.min().item() >= 1e-3 - 1e-9


def test_overlap_blends_windows_by_distance_to_their_centres():
    # windows 0..31 and 32..63 and the middle 16..47 (stride 16); the model answers each window's
    # start position as logit: the result at a voxel is
    # the weight-averaged probability, computed here by hand
    x = torch.zeros(1, 1, 64, 8, 8)
    x[0, 0] = torch.arange(64.0)[:, None, None]
    out = sliding_window_probs(
        x,
        lambda t: torch.full_like(t, 0.0) + t[:, :, :1, :1, :1] / 32,
        patch=(32, 8, 8),
        progress=False,
    )
    w = gaussian_importance((32, 8, 8), torch.device("cpu"))[:, 4, 4]
    i = 24  # covered by windows starting at 0 (offset 24) and 16 (offset 8)
    expected = (
        torch.sigmoid(torch.tensor(0.0)) * w[24] + torch.sigmoid(torch.tensor(0.5)) * w[8]
    ) / (w[24] + w[8])
    assert out[0, 0, i, 4, 4].item() == pytest.approx(expected.item(), abs=1e-6)
