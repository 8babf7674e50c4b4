"""Realism statistics (lascar_ref/data/realism.py) on hand-built volumes, and the realistic
phantoms measured with them — docs/design.md §7."""

import numpy as np
import pytest

from lascar_ref.data import make_phantom
from lascar_ref.data.__main__ import main as data_main
from lascar_ref.data.realism import cnr, la_box, scan_stats, threshold_dice
from lascar_ref.losses import wall_mask

SPACING1 = (1.0, 1.0, 1.0)


def slab_volume():
    """40 x 4 x 4 voxels of 1 mm: LA = columns x < 10 (value 1); background columns alternate
    0 (even x) and 0.5 (odd x); bright 1.2 at x = 25..29 (inside the LA box grown by 20 mm, which
    ends at x = 29) and x = 35..39 (outside it)."""
    x = np.arange(40)[:, None, None] * np.ones((1, 4, 4))
    image = np.where(x % 2 == 0, 0.0, 0.5)
    la = x < 10
    image[la] = 1.0
    image[(x >= 25) & (x <= 29)] = 1.2
    image[x >= 35] = 1.2
    return image, la


def test_cnr_by_hand_on_a_slab():
    image, la = slab_volume()
    # core: more than 3 mm inside -> x = 0..6 (value 1); ring: 2.5-10 mm outside the last LA
    # column x = 9 -> x = 12..19, values 0, 0.5, 0, ... (mean 0.25, std 0.25): CNR = 0.75 / 0.25
    assert cnr(image, la, SPACING1) == pytest.approx(3.0, abs=1e-9)
    assert cnr(5 * image - 7, la, SPACING1) == pytest.approx(3.0, abs=1e-9)  # z-scored first


def test_threshold_dice_by_hand_on_a_slab():
    image, la = slab_volume()
    box = la_box(la, SPACING1)
    assert box[0] == slice(0, 30)  # grown by 20 mm from x = 9, clipped at 0
    # best threshold between 0.5 and 1.0: LA (10 columns) + bright in the box (5 columns)
    dice, t = threshold_dice(image, la, SPACING1)
    assert dice == pytest.approx(2 * 10 / (10 + 15), abs=1e-12)
    z = (image - image.mean()) / image.std()
    assert z[~la & (image == 0.5)].max() < t < z[la].min()


def test_bright_sphere_in_a_dark_field():
    """A bright sphere (radius 8 mm) in a dark field with one bright cube (4^3 voxels) in its box:
    the best threshold segments sphere + cube, Dice = 2|S| / (2|S| + |C|)."""
    n = 48
    g = np.indices((n, n, n)).astype(float)
    sphere = ((g - 20) ** 2).sum(0) <= 8**2
    image = sphere.astype(float)
    image[32:36, 20:24, 20:24] = 1.0  # 4 mm from the sphere's edge, inside the grown box
    dice, _ = threshold_dice(image, sphere, SPACING1)
    s = sphere.sum()
    assert dice == pytest.approx(2 * s / (2 * s + 64), abs=1e-12)
    stats = scan_stats(image, sphere, (2.0, 1.0, 1.0))
    assert stats["la_ml"] == pytest.approx(s * 2.0 / 1000)


def test_scar_inside_and_outside_the_wall_band():
    la = np.zeros((40, 40, 40), dtype=bool)
    la[10:30, 10:30, 10:30] = True
    band = wall_mask(la, SPACING1)
    scar = np.zeros_like(la)
    scar[9, 15:20, 15:20] = True  # 1 mm outside the cavity: in the band (25 voxels)
    scar[20, 20, 20] = True  # the cavity's centre: outside the band (1 voxel)
    assert band[9, 15, 15] and not band[20, 20, 20]
    stats = scan_stats(np.random.default_rng(0).random(la.shape), la, SPACING1, scar)
    assert stats["scar_in_wall"] == pytest.approx(25 / 26)
    assert stats["scar_outside_wall"] == pytest.approx(1 / 26)
    assert stats["scar_fraction"] == pytest.approx(26 / la.size)


# realistic phantoms, 8 scans at a small test size (192 x 192 x 80 mm field of view)
SHAPE, SPACING = (96, 96, 32), (2.0, 2.0, 2.5)


@pytest.fixture(scope="module")
def phantoms():
    return [make_phantom(seed, SHAPE, SPACING) for seed in range(8)]


@pytest.fixture(scope="module")
def stats(phantoms):
    return [scan_stats(p["image"], p["la"] > 0, SPACING, p["scar"] > 0) for p in phantoms]


def test_phantoms_are_as_hard_as_real_lge(stats):
    """Medians inside the real range: CNR <= 1.5, best-threshold Dice <= 0.55 (real: 1.06 and
    0.40); LA volumes between 30 and 130 ml and spread over a wide range."""
    assert np.median([s["cnr"] for s in stats]) <= 1.5
    assert np.median([s["threshold_dice"] for s in stats]) <= 0.55
    ml = [s["la_ml"] for s in stats]
    assert 30 <= min(ml) and max(ml) <= 130 and max(ml) - min(ml) >= 30, ml


def test_confounders_outside_the_wall_look_like_scar(phantoms):
    for p in phantoms:
        la = p["la"] > 0
        band = wall_mask(la, SPACING)
        image = p["image"].astype(float)
        bright = image > np.median(image[p["scar_true"]])
        assert (bright & ~band & p["enhancing"]).sum() > 50  # scar-bright, outside the wall
        assert not (p["enhancing"] & band & ~p["la_blood"]).sum() > 0.05 * p["enhancing"].sum()


def test_scar_labels_in_the_band_except_the_set_label_noise(phantoms):
    from lascar_ref.data.phantom_style import DEFAULT_STYLE

    rates = []
    for p in phantoms:
        la, label, true = p["la"] > 0, p["scar"] > 0, p["scar_true"]
        band = wall_mask(la, SPACING)
        assert not (true & ~band).any()  # the enhanced scar lies in the Eq. 6 band
        assert true.sum() > 0 and (label & true).sum() == true.sum()
        noise = label & ~band  # the deliberate Fig. 2 noise: in the cavity or beyond the wall
        assert (noise & la).any() and (noise & ~la).any()
        rates.append(noise.sum() / label.sum())
    # blobs are added until the noise reaches the set rate; one blob may overshoot it
    assert DEFAULT_STYLE.label_noise <= np.median(rates) <= 2.5 * DEFAULT_STYLE.label_noise, rates


def test_same_seed_same_bytes_other_seed_differs():
    a, b = make_phantom(5, SHAPE, SPACING), make_phantom(5, SHAPE, SPACING)
    c = make_phantom(6, SHAPE, SPACING)
    for key in ("image", "la", "scar"):
        assert a[key].tobytes() == b[key].tobytes()
        assert a[key].tobytes() != c[key].tobytes()


def test_realism_command_prints_every_scan_and_the_summary(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "realism.json"
    assert data_main(["realism", str(tiny_dataset), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.count("task1/train_") == 3 and "median (min - max) over 3 scans" in text
    import json

    saved = json.loads(out.read_text())
    assert set(saved) == {"task1/train_1", "task1/train_2", "task1/train_3"}
    assert data_main(["realism", str(tmp_path / "nothing")]) == 2
