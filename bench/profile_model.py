"""No anchor: records where the time of one SwinUNETR forward+backward goes (profile first).

    python bench/profile_model.py [--device cuda] [--shape 224x192x32] [--feature-size 48]

torch.profiler over 3 steps (after 2 warm-ups) of the default model (bf16 autocast on CUDA, fp32
on the CPU); prints the operators with the largest self time and a summary by kind of work
(convolution, attention, matrix products, normalisation, elementwise/copies, other). Output is
recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

from lascar_ref.models import SwinUNETR

KINDS = (  # first match wins; names of aten operators and CUDA kernels
    ("convolution", ("conv", "cudnn", "winograd", "implicit_gemm", "xmma_fprop", "dgrad", "wgrad")),
    ("attention", ("attention", "fmha", "flash", "sdpa", "softmax")),
    ("matrix products", ("gemm", "mm", "linear", "matmul", "cutlass", "sm90_xmma")),
    ("normalisation", ("norm", "welford")),
    (
        "elementwise / copies",
        (
            "copy",
            "elementwise",
            "add",
            "mul",
            "gelu",
            "leaky",
            "cat",
            "clone",
            "to",
            "fill",
            "index",
            "embedding",
            "permute",
            "contiguous",
            "reduce",
            "sum",
        ),
    ),
)


def kind(name: str) -> str:
    low = name.lower()
    for label, keys in KINDS:
        if any(k in low for k in keys):
            return label
    return "other"


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="cuda")
    p.add_argument("--shape", default="224x192x32")
    p.add_argument("--feature-size", type=int, default=48)
    p.add_argument("--top", type=int, default=20)
    a = p.parse_args()
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    torch.manual_seed(0)
    model = SwinUNETR(feature_size=a.feature_size).to(device).train()
    x = torch.randn(1, 1, *(int(s) for s in a.shape.split("x")), device=device)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = model(x).float().square().mean()
        loss.backward()
        model.zero_grad(set_to_none=True)

    for _ in range(2):
        step()
    if cuda:
        torch.cuda.synchronize()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(3):
            step()
        if cuda:
            torch.cuda.synchronize()
    events = prof.key_averages()
    attr = "self_device_time_total" if cuda else "self_cpu_time_total"
    rows = sorted(events, key=lambda e: getattr(e, attr, 0.0), reverse=True)
    total = sum(getattr(e, attr, 0.0) for e in events) or 1.0
    print(
        f"# {a.shape}, F={a.feature_size}, {device}, {'bf16' if cuda else 'fp32'}; "
        f"self {'device' if cuda else 'CPU'} time per step {total / 3 / 1e3:.1f} ms"
    )
    by_kind = defaultdict(float)
    for e in events:
        by_kind[kind(e.key)] += getattr(e, attr, 0.0)
    for label, t in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {label:<22} {100 * t / total:5.1f} %  ({t / 3 / 1e3:.1f} ms/step)")
    print(f"top {a.top} by self time:")
    for e in rows[: a.top]:
        t = getattr(e, attr, 0.0)
        print(f"  {100 * t / total:5.1f} %  {e.count:6d}x  {e.key[:90]}")


if __name__ == "__main__":
    main()
