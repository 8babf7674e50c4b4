"""Sliding-window inference on one 384x256x40 volume: ours vs MONAI's sliding_window_inference,
same model (our SwinUNETR, feature size 48), patch 224x192x32, overlap 0.5, Gaussian mode, same run.

    python bench/bench_inference.py [--device cpu|cuda] [--feature-size 48]

Target: ours <= 1.0x MONAI's time. Figures are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import platform

import torch
from timing import best_of, ratio_text

from lascar_ref.inference.sliding_window import sliding_window_probs
from lascar_ref.models import SwinUNETR


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--feature-size", type=int, default=48)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    from monai.inferers import sliding_window_inference

    device = torch.device(a.device)
    model = SwinUNETR(feature_size=a.feature_size).to(device).eval()
    x = torch.randn(1, 1, 384, 256, 40, device=device)
    cuda = device.type == "cuda"

    def timed(fn):
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            return best_of(fn, 1, warmup=1, sync=torch.cuda.synchronize if cuda else None)

    t_ours, ours = timed(
        lambda: sliding_window_probs(x, model, (224, 192, 32), 0.5, batch_size=2, progress=False)
    )
    t_monai, theirs = timed(
        lambda: torch.sigmoid(
            sliding_window_inference(
                x, (224, 192, 32), 2, model, overlap=0.5, mode="gaussian", sigma_scale=0.125
            )
        )
    )
    print(
        f"# machine: {platform.machine()}, torch {torch.__version__}, device {device}, "
        f"feature size {a.feature_size}"
    )
    print(
        f"ours {t_ours:.2f} s, MONAI {t_monai:.2f} s, {ratio_text(t_ours, t_monai, 'MONAI')}, "
        f"max |prob difference| {float((ours.float() - theirs.float()).abs().max()):.2e}"
    )


if __name__ == "__main__":
    main()
