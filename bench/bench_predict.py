"""Seconds per scan of predict.py's inference on one 576 x 576 x 44 scan at 0.625 x 0.625 x 2.5 mm
(patch 224 x 192 x 32, overlap 0.5, Gaussian weights), next to MONAI's sliding_window_inference
with the same weights on the same z-scored volume, in the same run.

    python bench/bench_predict.py [--device cpu|cuda] [--feature-size 48] [--repeats 1]

Ours: lascar_ref.inference.members.ensemble_probs (resampling, z-score, whole-scan sliding
window, mapping back). MONAI: monai.inferers.sliding_window_inference (mode "gaussian", sigma
0.125) on the already normalised volume. CUDA uses bf16 autocast for both. Figures: bench/README.md.
"""

from __future__ import annotations

import argparse
import platform

import numpy as np
import torch
from timing import best_of, ratio_text

from lascar_ref.config import OVERLAP, PATCH
from lascar_ref.data import make_phantom
from lascar_ref.inference.members import Predictor, ensemble_probs, normalised_input
from lascar_ref.models import SwinUNETR
from lascar_ref.models.monai_keys import export_monai_state_dict
from lascar_ref.runtime.device import resolve_amp


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--feature-size", type=int, default=48)
    p.add_argument("--repeats", type=int, default=1)
    a = p.parse_args()
    device = torch.device(a.device)
    spacing, size = (0.625, 0.625, 2.5), (384, 256, 40)
    scan = make_phantom(0, (576, 576, 44), spacing)["image"].astype(np.float32)
    model = SwinUNETR(feature_size=a.feature_size).to(device).eval()
    pred = Predictor("bench", ("scar",), model, spacing, size, PATCH, OVERLAP)
    from monai.inferers import sliding_window_inference
    from monai.networks.nets import SwinUNETR as MonaiSwinUNETR

    theirs = (
        MonaiSwinUNETR(in_channels=1, out_channels=1, feature_size=a.feature_size).to(device).eval()
    )
    theirs.load_state_dict(export_monai_state_dict(model.cpu()))
    model.to(device)
    amp = resolve_amp("auto", device)
    x = torch.from_numpy(normalised_input(scan, spacing, pred)[0])[None, None].to(device)

    def ours():
        ensemble_probs(scan, spacing, [pred], device)

    @torch.no_grad()
    def monai():
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            torch.sigmoid(
                sliding_window_inference(x, PATCH, 2, theirs, overlap=OVERLAP, mode="gaussian")
            )

    def seconds(fn):
        return best_of(
            fn, a.repeats, sync=torch.cuda.synchronize if device.type == "cuda" else None
        )[0]

    t_ours, t_monai = seconds(ours), seconds(monai)
    print(
        f"# machine: {platform.machine()}, torch {torch.__version__}, device {device}, "
        f"feature size {a.feature_size}, {torch.get_num_threads()} threads"
    )
    print(
        f"576x576x44 scan: ours {t_ours:.1f} s/scan (whole pipeline), MONAI sliding window "
        f"{t_monai:.1f} s/scan, {ratio_text(t_ours, t_monai, 'MONAI')}"
    )


if __name__ == "__main__":
    main()
