"""Table 1 / Eq. 2 parameters (lascar_ref/augment): ranges, firing frequencies, p = 0 identity,
p = 1 equals the manual chain, label-guided centres, device agreement."""

import math

import pytest
import torch

from lascar_ref.augment import (
    ORDER,
    PAPER_P,
    TABLE1,
    apply_params,
    augment,
    foreground_indices,
    sample_params,
)
from lascar_ref.augment.bias_field import apply_bias
from lascar_ref.augment.intensity import apply_blur, apply_contrast, apply_noise, apply_shift
from lascar_ref.augment.spatial import apply_spatial, elastic_field

SPACING = (0.625, 0.625, 2.5)
ALL_ON = {k: 1.0 for k in ORDER}
ALL_OFF = {k: 0.0 for k in ORDER}


def test_table1_rows_match_the_paper():
    assert [r.operation for r in TABLE1] == [
        "Bias Field",
        "3D Elastic",
        "Rotation",
        "Zoom",
        "Gaussian Blurring",
        "Contrast",
        "Intensity Shift",
        "Gaussian Noise",
    ]
    assert [r.p for r in TABLE1] == [0.15, 0.10, 0.50, 0.30, 0.20, 0.30, 0.50, 0.20]


def test_every_parameter_in_its_range():
    n = 3000
    params = sample_params(n, (64, 64, 16), (32, 32, 16), torch.Generator().manual_seed(0))
    checks = [
        (params["bias"]["coeffs"], (0.02, 0.06)),
        (params["elastic"]["sigma_vox"], (3.0, 5.0)),
        (params["elastic"]["delta_vox"][:, :2], (3.0, 6.0)),
        (params["elastic"]["delta_vox"][:, 2], (2.0, 5.0)),
        (params["rotation"]["angle_deg"], (-15.0, 15.0)),
        (params["zoom"]["zoom"], (0.9, 1.1)),
        (params["blur"]["sigma_vox"], (0.5, 1.5)),
        (params["contrast"]["gamma"], (0.8, 1.3)),
        (params["shift"]["offset"], (-0.1, 0.1)),
        (params["noise"]["std"], (0.0, 0.02)),
    ]
    for values, (low, high) in checks:
        assert values.min() >= low and values.max() <= high
        span = high - low  # and the whole range is used
        assert values.min() < low + 0.01 * span and values.max() > high - 0.01 * span


def test_firing_frequencies_binomial():
    n = 4000
    params = sample_params(n, (64, 64, 16), (32, 32, 16), torch.Generator().manual_seed(1))
    for key in ORDER:
        p = PAPER_P[key]
        freq = params[key]["enabled"].float().mean().item()
        assert abs(freq - p) <= 4 * math.sqrt(p * (1 - p) / n), key


def _volume(seed=0):
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(1, 1, 48, 40, 12, generator=g)
    labels = (torch.rand(1, 2, 48, 40, 12, generator=g) > 0.7).float()
    return image, labels


def test_p0_is_exact_crop():
    image, labels = _volume()
    out = augment(
        image,
        labels,
        (32, 24, 8),
        SPACING,
        torch.Generator().manual_seed(2),
        batch_size=5,
        p=ALL_OFF,
    )
    for b, (x, y, z) in enumerate(out["params"]["start"].tolist()):
        assert torch.equal(out["image"][b], image[0, :, x : x + 32, y : y + 24, z : z + 8])
        assert torch.equal(out["labels"][b], labels[0, :, x : x + 32, y : y + 24, z : z + 8])


def test_p1_equals_manual_sequential_chain():
    image, labels = _volume(3)
    patch = (32, 24, 8)
    params = sample_params(3, (48, 40, 12), patch, torch.Generator().manual_seed(4), p=ALL_ON)
    x, y = apply_params(image, labels, params, patch, SPACING)
    e = params["elastic"]
    disp = elastic_field(e["sigma_vox"], e["delta_vox"], e["seed"], patch, image.device)
    manual = apply_spatial(
        torch.cat([image, labels], 1),
        params["start"],
        patch,
        SPACING,
        params["rotation"]["angle_deg"],
        params["zoom"]["zoom"],
        disp,
        torch.ones(3, dtype=torch.bool),
    )
    img, lab = manual[:, :1], (manual[:, 1:] > 0.5).float()
    img = apply_bias(img, params["bias"]["coeffs"])
    img = apply_blur(img, params["blur"]["sigma_vox"])
    img = apply_contrast(img, params["contrast"]["gamma"])
    img = apply_shift(img, params["shift"]["offset"])
    img = apply_noise(img, params["noise"]["std"], params["noise"]["seed"])
    assert torch.equal(y, lab) and torch.equal(x, img)
    assert not torch.equal(x, manual[:, :1])  # the intensity ops did something


def test_unknown_probability_key_is_an_error():
    with pytest.raises(ValueError, match="unknown augmentation 'rotate'"):
        sample_params(1, (64, 64, 16), (32, 32, 16), torch.Generator(), p={"rotate": 1.0})


def test_label_guided_centres():
    mask = torch.zeros(96, 96, 24)
    mask[70:73, 10:13, 3:5] = 1  # a tiny target near a corner
    fg = foreground_indices(mask)
    n = 400
    params = sample_params(
        n, (96, 96, 24), (32, 32, 8), torch.Generator().manual_seed(5), fg_indices=[fg] * n
    )
    s = params["start"]
    assert (s >= 0).all() and (s <= torch.tensor([64, 64, 16])).all()  # clamped inside the volume
    hit = (
        (
            (s[:, 0] <= 70)
            & (s[:, 0] + 32 > 72)
            & (s[:, 1] <= 10)
            & (s[:, 1] + 32 > 12)
            & (s[:, 2] <= 3)
            & (s[:, 2] + 8 > 4)
        )
        .float()
        .mean()
        .item()
    )
    # half the patches are centred on the target; uniform ones hit it with probability ~ 0.1
    assert 0.5 - 4 * math.sqrt(0.25 / n) < hit < 0.65


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device as the second device type"
)
def test_cpu_and_cuda_agree_on_parameters():
    image, labels = _volume(6)
    p = dict(
        ALL_ON, elastic=0.0, noise=0.0
    )  # their noise fields are drawn on the device: streams differ
    a = augment(
        image, labels, (32, 24, 8), SPACING, torch.Generator().manual_seed(7), batch_size=4, p=p
    )
    b = augment(
        image.cuda(),
        labels.cuda(),
        (32, 24, 8),
        SPACING,
        torch.Generator().manual_seed(7),
        batch_size=4,
        p=p,
    )
    assert torch.equal(a["params"]["start"], b["params"]["start"])
    for key in ORDER:
        for name, value in a["params"][key].items():
            assert torch.equal(value, b["params"][key][name]), (key, name)
    assert b["image"].device.type == "cuda"
    assert torch.allclose(a["image"], b["image"].cpu(), atol=1e-4)
    assert (a["labels"] != b["labels"].cpu()).float().mean() < 1e-3


def test_augmented_samples_for_inspection():
    from lascar_ref.augment import augmented_samples

    image, labels = _volume(8)
    out = augmented_samples(image, labels, (32, 24, 8), SPACING, n=3, seed=1)
    assert out["image"].shape == (3, 1, 32, 24, 8) and out["labels"].shape == (3, 2, 32, 24, 8)
    assert set(out["labels"].unique().tolist()) <= {0.0, 1.0}
    again = augmented_samples(image, labels, (32, 24, 8), SPACING, n=3, seed=1)
    assert torch.equal(out["image"], again["image"])  # deterministic from the seed
