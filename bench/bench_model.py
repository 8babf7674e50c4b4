"""Forward+backward time and peak memory: our SwinUNETR vs MONAI's, same weights, same input.

    python bench/bench_model.py [--device cpu|cuda] [--shapes 64x64x32 224x192x32] [--repeats 3]
        [--impls monai ours explicit ours-cl ours-compile ours-cl-compile]

Each (implementation, shape) runs in a fresh subprocess so that CPU peak memory is the peak RSS
increase over the process after model creation (resource.ru_maxrss); on CUDA it is
torch.cuda.max_memory_allocated. CUDA runs use bf16 autocast. Prints absolute figures and the
ratios ours / MONAI (targets at 224x192x32: time <= 1.0x on CPU; time <= 0.6x on a GPU).
ours-cl / ours-compile / ours-cl-compile add --channels-last / --compile (runtime/speed.py;
compile time is spent in the warm-up, not timed) and report max |output - eager default output|
in fp32 on the same weights and input. Figures are recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys

from timing import best_of, ratio_text


def worker(impl: str, shape: str, device: str, repeats: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    from lascar_ref.models import SwinUNETR

    if impl == "monai":
        from monai.networks.nets import SwinUNETR as MonaiSwinUNETR

        model = MonaiSwinUNETR(in_channels=1, out_channels=1, feature_size=48)
    else:
        model = SwinUNETR(feature_size=48, attn_impl="explicit" if impl == "explicit" else "sdpa")
    model = model.to(device).train()
    X, Y, Z = (int(s) for s in shape.split("x"))
    x = torch.randn(1, 1, X, Y, Z, device=device)
    cuda = device.startswith("cuda")
    parity = None
    if impl.startswith("ours-"):
        import copy

        from lascar_ref.runtime.speed import apply_speed_options

        eager = copy.deepcopy(model)
        apply_speed_options(model, channels_last="cl" in impl, compile="compile" in impl)
        tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        with torch.no_grad():
            parity = float((model(x) - eager(x)).abs().max())  # fp32, same weights
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
        del eager

    def step():
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=cuda):
            loss = model(x).float().square().mean()
        loss.backward()
        model.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step()  # warm-up (allocator, kernels; compilation)
    step()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    seconds, _ = best_of(step, repeats)  # step() synchronises itself on CUDA
    if cuda:
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    return {
        "impl": impl,
        "shape": shape,
        "seconds": seconds,
        "peak_mb": peak_mb,
        "parity": parity,
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--shapes", nargs="+", default=["64x64x32", "224x192x32"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--impls",
        nargs="+",
        default=["monai", "ours"],
        help="monai, ours (SDPA), explicit, ours-cl, ours-compile, ours-cl-compile",
    )
    p.add_argument("--worker", nargs=2, metavar=("IMPL", "SHAPE"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker[0], a.worker[1], a.device, a.repeats, a.threads)))
        return
    import torch

    print(
        f"# machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"device {a.device}"
        + (
            f" ({torch.cuda.get_device_name()})"
            if a.device.startswith("cuda")
            else f", {a.threads} threads"
        )
    )
    print(f"{'shape':>12} {'impl':>15} {'fwd+bwd s':>10} {'peak MB':>9}")
    for shape in a.shapes:
        res = {}
        for impl in a.impls:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--device",
                    a.device,
                    "--repeats",
                    str(a.repeats),
                    "--threads",
                    str(a.threads),
                    "--worker",
                    impl,
                    shape,
                ],
                capture_output=True,
                text=True,
            )
            if out.returncode:
                print(f"{shape:>12} {impl:>15} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            res[impl] = json.loads(out.stdout.strip().splitlines()[-1])
            r = res[impl]
            parity = "" if r["parity"] is None else f"  fp32 max|diff| vs eager {r['parity']:.1e}"
            print(f"{shape:>12} {impl:>15} {r['seconds']:10.3f} {r['peak_mb']:9.0f}{parity}")
        for impl in (i for i in a.impls if i != "monai" and "monai" in res):
            print(
                f"{shape:>12}  {impl}: time "
                f"{ratio_text(res[impl]['seconds'], res['monai']['seconds'], 'MONAI')}, "
                f"memory {res[impl]['peak_mb'] / max(res['monai']['peak_mb'], 1e-9):.2f}x"
            )


if __name__ == "__main__":
    main()
