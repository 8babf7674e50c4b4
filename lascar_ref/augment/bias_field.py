"""T_bias — bias field, paper Table 1 (degree [0.02, 0.06], P = 0.15); docs/design.md §4.

  x' = x * exp(f),  f(u, v, w) = sum_{i+j+k <= 3} c_ijk P_i(u) P_j(v) P_k(w)
P_n: Legendre polynomials; (u, v, w) in [-1, 1] over the patch (linspace per axis); 20
coefficients c_ijk ~ U(0.02, 0.06) per sample (MONAI RandBiasField semantics, degree 3).
Applied to the sampled patch (a smooth random field: the order with the warp does not change
its law, docs/design.md §4). Tests: tests/test_table1_intensity.py
"""

from __future__ import annotations

import torch

from .sampling import table_uniform

DEGREE = 3
TERMS = tuple(
    (i, j, k)
    for i in range(DEGREE + 1)
    for j in range(DEGREE + 1)
    for k in range(DEGREE + 1)
    if i + j + k <= DEGREE
)  # 20 (i, j, k) exponents, lexicographic


def legendre(n: int, t: torch.Tensor) -> torch.Tensor:
    """P_n(t) for n = 0..3."""
    return (torch.ones_like(t), t, (3 * t**2 - 1) / 2, (5 * t**3 - 3 * t) / 2)[n]


def sample_bias(batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """{"coeffs": (B, 20)} in the order of TERMS."""
    coeffs = table_uniform("bias", "coeff", batch_size * len(TERMS), generator)
    return {"coeffs": coeffs.view(batch_size, len(TERMS))}


def bias_field(coeffs: torch.Tensor, size: tuple[int, int, int]) -> torch.Tensor:
    """coeffs (B, 20) -> log-field f of shape (B, 1, X, Y, Z)."""
    u, v, w = (torch.linspace(-1, 1, n, device=coeffs.device) for n in size)
    pu = torch.stack([legendre(n, u) for n in range(DEGREE + 1)])  # (4, X)
    pv = torch.stack([legendre(n, v) for n in range(DEGREE + 1)])  # (4, Y)
    pw = torch.stack([legendre(n, w) for n in range(DEGREE + 1)])  # (4, Z)
    c = torch.zeros(coeffs.shape[0], DEGREE + 1, DEGREE + 1, DEGREE + 1, device=coeffs.device)
    for t, (i, j, k) in enumerate(TERMS):
        c[:, i, j, k] = coeffs[:, t]
    return torch.einsum("bijk,ix,jy,kz->bxyz", c, pu, pv, pw).unsqueeze(1)


def apply_bias(x: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """x (B, 1, X, Y, Z) -> x * exp(f)."""
    return x * torch.exp(bias_field(coeffs.to(x.device), tuple(x.shape[2:])))
