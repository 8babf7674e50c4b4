"""Per-sample time of the Table 1 pipeline vs MONAI's equivalent dictionary-transform chain.

    python bench/bench_augment.py [--samples 10] [--device cpu|cuda]

Data: a 384x256x40 z-scored volume with LA, scar and wall label channels. Ours: label-guided
crop 224x192x32 + the 8 Table 1 operations (lascar_ref.augment.augment), at p = 1 and at the
paper's probabilities. MONAI 1.6.1: RandCropByPosNegLabeld, RandBiasFieldd, Rand3DElasticd,
RandRotated, RandZoomd, RandGaussianSmoothd, RandAdjustContrastd, RandShiftIntensityd,
RandGaussianNoised with the same ranges and probabilities, 2 CPU threads, same run.
Targets on CPU: <= 0.2x MONAI at p = 1, <= 0.3x at the paper's probabilities. On CUDA: time of a
batch of 8 patches (target < 20 ms). Figures are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import math
import platform

import torch
from timing import best_of, ratio_text

from lascar_ref.augment import ORDER, PAPER_P, augment, foreground_indices

SPACING = (0.625, 0.625, 2.5)
PATCH = (224, 192, 32)


def make_volume(device="cpu"):
    g = torch.Generator().manual_seed(0)
    image = torch.randn(1, 1, 384, 256, 40, generator=g)
    X, Y, Z = torch.meshgrid(
        *(torch.arange(n, dtype=torch.float32) for n in (384, 256, 40)), indexing="ij"
    )
    r = torch.sqrt(((X - 192) * 0.625) ** 2 + ((Y - 128) * 0.625) ** 2 + ((Z - 20) * 2.5) ** 2)
    la, wall = (r <= 25).float(), ((r > 22) & (r <= 27.5)).float()
    scar = wall * (X > 200).float()
    return image.to(device), torch.stack([la, scar, wall])[None].to(device)


def monai_chain(probs):
    from monai import transforms as T

    keys = ["image", "label"]
    return T.Compose(
        [
            T.RandCropByPosNegLabeld(
                keys, label_key="scar", spatial_size=PATCH, pos=1, neg=1, num_samples=1
            ),
            T.RandBiasFieldd("image", degree=3, coeff_range=(0.02, 0.06), prob=probs["bias"]),
            T.Rand3DElasticd(
                keys,
                sigma_range=(3, 5),
                magnitude_range=(3, 6),
                prob=probs["elastic"],
                mode=("bilinear", "bilinear"),
                padding_mode="border",
            ),
            T.RandRotated(
                keys,
                range_z=math.radians(15),
                prob=probs["rotation"],
                mode=("bilinear", "bilinear"),
                padding_mode="border",
            ),
            T.RandZoomd(
                keys,
                min_zoom=0.9,
                max_zoom=1.1,
                prob=probs["zoom"],
                mode=("trilinear", "trilinear"),
                padding_mode="edge",
            ),
            T.RandGaussianSmoothd(
                "image",
                sigma_x=(0.5, 1.5),
                sigma_y=(0.5, 1.5),
                sigma_z=(0.5, 1.5),
                prob=probs["blur"],
            ),
            T.RandAdjustContrastd("image", gamma=(0.8, 1.3), prob=probs["contrast"]),
            T.RandShiftIntensityd("image", offsets=0.1, prob=probs["shift"]),
            T.RandGaussianNoised("image", mean=0.0, std=0.02, prob=probs["noise"]),
        ]
    )


def per_sample(fn, n, sync=None):
    """Seconds per call: the fastest of n calls after one warm-up (timing.best_of)."""
    return best_of(fn, n, warmup=1, sync=sync)[0]


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--samples", type=int, default=10)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    image, labels = make_volume(a.device)
    fg = [foreground_indices(labels[0, 1])]
    g = torch.Generator().manual_seed(1)
    print(
        f"# machine: {platform.machine()}, torch {torch.__version__}, device {a.device}, "
        f"{a.threads} threads"
    )
    for name, probs in (("p = 1", {k: 1.0 for k in ORDER}), ("paper P", dict(PAPER_P))):
        ours = per_sample(
            lambda probs=probs: augment(image, labels, PATCH, SPACING, g, fg_indices=fg, p=probs),
            a.samples,
        )
        line = f"{name:>8}: ours {ours * 1000:7.1f} ms/sample"
        if a.device == "cpu":
            import monai

            monai.utils.set_determinism(seed=0)
            chain = monai_chain(probs)
            data = {"image": image[0], "label": labels[0], "scar": labels[0, 1:2]}
            theirs = per_sample(lambda chain=chain, data=data: chain(data), a.samples)
            line += f", MONAI {theirs * 1000:7.1f} ms/sample, {ratio_text(ours, theirs, 'MONAI')}"
        print(line)
    if a.device.startswith("cuda"):
        probs = {k: 1.0 for k in ORDER}
        fn = lambda: augment(
            image, labels, PATCH, SPACING, g, batch_size=8, fg_indices=fg * 8, p=probs
        )
        t = per_sample(fn, a.samples, sync=torch.cuda.synchronize)
        print(f"batch of 8 patches, p = 1: {t * 1000:.1f} ms")


if __name__ == "__main__":
    main()
