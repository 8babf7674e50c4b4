"""No anchor: records GPU correctness checks (run on a CUDA machine; results go to bench/README.md).

    python bench/gpu_check.py

1. Parity with MONAI's SwinUNETR on CUDA in fp32 (TF32 off): same weights, outputs within 1e-4.
2. SDPA vs explicit attention on CUDA: forward and gradients, fp32, and bf16 autocast agreement.
3. Which SDPA backend runs in training under bf16 (flash / efficient / math) for the masked windows.
4. Table 1 parameters are identical on CPU and CUDA for the same seed.
"""

from __future__ import annotations

import torch

from lascar_ref.augment import ORDER, augment
from lascar_ref.models import SwinUNETR
from lascar_ref.models.monai_keys import from_monai_state_dict


def main() -> None:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    from monai.networks.nets import SwinUNETR as MonaiSwinUNETR

    torch.manual_seed(0)
    theirs = MonaiSwinUNETR(in_channels=1, out_channels=1, feature_size=48).to(dev).eval()
    ours = (
        from_monai_state_dict({k: v.cpu() for k, v in theirs.state_dict().items()}).to(dev).eval()
    )
    for shape in ((1, 1, 64, 64, 32), (1, 1, 224, 192, 32)):
        x = torch.randn(shape, device=dev)
        with torch.no_grad():
            d = (theirs(x) - ours(x)).abs().max().item()
        print(
            f"parity fp32 {shape[2:]}: max |ours - MONAI| = {d:.2e} "
            f"({'OK' if d < 1e-4 else 'FAIL'})"
        )
    explicit = SwinUNETR(attn_impl="explicit").to(dev)
    sdpa = SwinUNETR(attn_impl="sdpa").to(dev)
    explicit.load_state_dict(sdpa.state_dict())
    x = torch.randn(1, 1, 64, 64, 32, device=dev)
    a, b = sdpa(x), explicit(x)
    a.square().mean().backward()
    b.square().mean().backward()
    g = max(
        (p.grad - q.grad).abs().max().item()
        for p, q in zip(sdpa.parameters(), explicit.parameters())
    )
    print(f"sdpa vs explicit fp32: forward {(a - b).abs().max().item():.2e}, max grad diff {g:.2e}")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        a16 = sdpa(x).float()
    print(
        f"bf16 autocast vs fp32 (sdpa): max |diff| {(a16 - a.detach()).abs().max().item():.3f}, "
        f"output std {a.std().item():.3f}"
    )
    from torch.nn.attention import SDPBackend, sdpa_kernel

    q = torch.randn(75, 3, 343, 16, device=dev, dtype=torch.bfloat16, requires_grad=True)
    mask = torch.randn(75, 3, 343, 343, device=dev, dtype=torch.bfloat16, requires_grad=True)
    for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH):
        try:
            with sdpa_kernel(backend):
                torch.nn.functional.scaled_dot_product_attention(
                    q, q, q, attn_mask=mask
                ).sum().backward()
            print(f"SDPA backend {backend.name}: runs with a learned additive mask in training")
        except RuntimeError as e:
            print(
                f"SDPA backend {backend.name}: not available here ({str(e).splitlines()[0][:80]})"
            )
    img = torch.randn(1, 1, 96, 96, 40)
    lab = (torch.rand(1, 3, 96, 96, 40) > 0.8).float()
    p = {k: 1.0 for k in ORDER}
    ca = augment(
        img,
        lab,
        (64, 64, 32),
        (0.625, 0.625, 2.5),
        torch.Generator().manual_seed(3),
        batch_size=4,
        p=p,
    )
    cb = augment(
        img.to(dev),
        lab.to(dev),
        (64, 64, 32),
        (0.625, 0.625, 2.5),
        torch.Generator().manual_seed(3),
        batch_size=4,
        p=p,
    )
    same = all(
        torch.equal(v, cb["params"][k][n]) for k in ORDER for n, v in ca["params"][k].items()
    )
    print(f"Table 1 parameters CPU == CUDA for one seed: {same}; patch on {cb['image'].device}")


if __name__ == "__main__":
    main()
