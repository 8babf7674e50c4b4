"""Steps per second of one Stage II training step (dual model, augmentation, Eq. 5 + 8 loss, AdamW)
at the demo preset and at the paper size, next to MONAI's
SwinUNETR forward+backward on the same input in the same run.

    python bench/bench_train.py [--device cpu|cuda] [--sizes demo paper] [--steps 3]
        [--options none channels_last compile channels_last+compile]

Paper size: patch 224x192x32 from a 384x256x40 volume, feature size 48. Demo: patch 64x64x32 from
64x64x32, feature size 12. CUDA uses bf16 autocast. --options: the speed options of the model
(lascar_ref/runtime/speed.py), each timed after two untimed warm-up steps (compilation).
Figures: bench/README.md.
"""

from __future__ import annotations

import argparse
import platform

import torch
from timing import best_of, ratio_text

from lascar_ref.augment import augment, foreground_indices
from lascar_ref.config import make_config
from lascar_ref.runtime.device import autocast_for, resolve_amp
from lascar_ref.runtime.speed import apply_speed_options
from lascar_ref.stage_table import STAGES, build_model, param_groups
from lascar_ref.training.fit import train_step

SIZES = {"demo": dict(preset="demo"), "paper": dict(preset="paper")}


def bench(name: str, device: torch.device, steps: int, options: str = "none") -> str:
    cfg = make_config(SIZES[name]["preset"], stage=2, device=str(device))
    amp = resolve_amp("auto", device)
    spec = STAGES[2]
    model = build_model(spec, cfg.feature_size).to(device)
    apply_speed_options(model, "channels_last" in options, "compile" in options)
    optimizer = torch.optim.AdamW(
        param_groups(model, spec, ["E", "D_LA"], cfg.lr, cfg.pretrained_lr_scale), lr=cfg.lr
    )
    weights = {"lam": cfg.lam, "alpha_t": 0.5, "beta_la": cfg.beta_la, "beta_scar": cfg.beta_scar}
    autocast = autocast_for(device, amp)
    scaler = torch.amp.GradScaler(device.type, enabled=False)
    g = torch.Generator().manual_seed(0)
    image = torch.randn(1, 1, *cfg.size, device=device)
    labels = (torch.rand(1, 3, *cfg.size, device=device) > 0.8).float()
    fg = [foreground_indices(labels[0, 1])]
    cuda = device.type == "cuda"

    def ours():
        out = augment(image, labels, cfg.patch, cfg.spacing_mm, g, fg_indices=fg)
        train_step(
            model, out["image"], out["labels"], optimizer, scaler, spec.loss, weights, autocast
        )

    from monai.networks.nets import SwinUNETR as MonaiSwinUNETR

    theirs_model = MonaiSwinUNETR(in_channels=1, out_channels=1, feature_size=cfg.feature_size).to(
        device
    )
    x = torch.randn(1, 1, *cfg.patch, device=device)

    def theirs():
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            loss = theirs_model(x).float().square().mean()
        loss.backward()

    def rate(fn):
        sync = torch.cuda.synchronize if cuda else None
        return 1.0 / best_of(fn, steps, warmup=2, sync=sync)[0]

    r_ours, r_theirs = rate(ours), rate(theirs)
    return (
        f"{name:>6} [{options}]: Stage II step (dual model + augmentation) {r_ours:.3f} steps/s; "
        f"MONAI SwinUNETR fwd+bwd {r_theirs:.3f} /s (single decoder, no augmentation); "
        f"{ratio_text(1 / r_ours, 1 / r_theirs, 'MONAI')} (not the same work: a bound)"
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--sizes", nargs="+", default=["demo", "paper"], choices=sorted(SIZES))
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--options",
        nargs="+",
        default=["none"],
        choices=["none", "channels_last", "compile", "channels_last+compile"],
    )
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    print(
        f"# machine: {platform.machine()}, torch {torch.__version__}, device {device}"
        + (
            f" ({torch.cuda.get_device_name()})"
            if device.type == "cuda"
            else f", {a.threads} threads"
        )
    )
    for name in a.sizes:
        for options in a.options:
            print(bench(name, device, a.steps, options), flush=True)


if __name__ == "__main__":
    main()
