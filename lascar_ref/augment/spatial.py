"""T_elastic, T_rot, T_zoom fused with the patch crop into ONE sampling grid — paper Table 1,
Eq. (2); docs/design.md §4.

For an output patch voxel u with offset r = (u - (P - 1) / 2) * spacing (mm) from the patch
centre c (voxel index in the volume), the source index is

  s(u) = c + [R_z(-theta) r / zoom] / spacing + d(u)

R_z: in-plane rotation about Z in mm (rigid under anisotropic spacing); zoom > 1 magnifies.
Deviation: Table 1 gives one angle range; we rotate in-plane only, since out of the plane of
4:1 anisotropic voxels a rotation acts as a shear (nnU-Net does the same; docs/design.md §4).
d: elastic displacement in voxels, Gaussian-smoothed noise (sigma ~ U(3, 5) voxels) normalised
per axis to a maximum of |d_a| = Delta_a (Delta_x, Delta_y ~ U(3, 6), Delta_z ~ U(2, 5)), the
noise drawn on a stride-2 grid and upsampled (same covariance, less work).
Deviation: MONAI's Rand3DElastic cannot express a per-axis Delta (docs/design.md §4). About 1% of
voxels fold at sigma = 3, Delta = (6, 6, 5); accepted.
One trilinear grid_sample (align_corners=True, border padding) samples image and label channels;
grids in float32 outside autocast. A sample with no spatial op is an exact integer slice.
Tests: tests/test_table1_geometry.py
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .gaussian import gaussian_smooth
from .sampling import device_normal, draw_seeds, table_uniform

ELASTIC_STRIDE = 2  # noise grid stride of the elastic field (see elastic_field)


def sample_rotation(batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {"angle_deg": table_uniform("rotation", "angle_deg", batch_size, generator)}


def sample_zoom(batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {"zoom": table_uniform("zoom", "zoom", batch_size, generator)}


def sample_elastic(batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    sigma = table_uniform("elastic", "sigma_vox", batch_size, generator)
    delta = torch.stack(
        [table_uniform("elastic", f"delta_{a}_vox", batch_size, generator) for a in "xyz"], 1
    )
    return {"sigma_vox": sigma, "delta_vox": delta, "seed": draw_seeds(batch_size, generator)}


def elastic_field(
    sigma_vox: torch.Tensor,
    delta_vox: torch.Tensor,
    seed: torch.Tensor,
    patch: tuple[int, int, int],
    device: torch.device,
) -> torch.Tensor:
    """(B,) sigma, (B, 3) Delta, (B,) seeds -> displacement d (B, 3, X, Y, Z) in voxels, max |d_a| =
    Delta_a.

    White noise is drawn on a grid of stride 2, smoothed with sigma / 2 there and trilinearly
    upsampled: the same Gaussian covariance (sigma sqrt 2 voxels), since for sigma >= 3 the
    smoothed field's spectrum beyond that grid's Nyquist frequency is below 2e-5 of its peak.
    """
    coarse = tuple(-(-n // ELASTIC_STRIDE) for n in patch)
    noise = torch.cat([device_normal((1, 3) + coarse, int(s), device) for s in seed])
    sigma = (sigma_vox.to(device) / ELASTIC_STRIDE)[:, None].expand(-1, 3)
    smooth = F.interpolate(
        gaussian_smooth(noise, sigma), size=tuple(patch), mode="trilinear", align_corners=True
    )
    peak = smooth.abs().amax(dim=(2, 3, 4), keepdim=True)  # (B, 3, 1, 1, 1)
    return smooth / peak * delta_vox.to(device).view(-1, 3, 1, 1, 1)


def sampling_grid(
    centre_vox: torch.Tensor,
    angle_deg: torch.Tensor,
    zoom: torch.Tensor,
    displacement_vox: torch.Tensor | None,
    patch: tuple[int, int, int],
    spacing_mm: tuple[float, float, float],
    volume: tuple[int, int, int],
) -> torch.Tensor:
    """Source indices s(u) of the docstring, normalised for grid_sample: (B, X, Y, Z, 3) as
    (z, y, x)."""
    device = centre_vox.device
    B = centre_vox.shape[0]
    sp = torch.tensor(spacing_mm, dtype=torch.float32, device=device)
    axes = [
        (torch.arange(n, dtype=torch.float32, device=device) - (n - 1) / 2) * s
        for n, s in zip(patch, sp)
    ]
    rx, ry, rz = torch.meshgrid(*axes, indexing="ij")  # (X, Y, Z) mm offsets from the patch centre
    theta = angle_deg.float().to(device).view(B, 1, 1, 1) * (math.pi / 180)
    z = zoom.float().to(device).view(B, 1, 1, 1)
    cos, sin = torch.cos(theta), torch.sin(theta)
    src = torch.stack(
        [(cos * rx + sin * ry) / z, (-sin * rx + cos * ry) / z, rz.expand(B, -1, -1, -1) / z], -1
    )
    idx = (
        centre_vox.float().to(device).view(B, 1, 1, 1, 3) + src / sp
    )  # (B, X, Y, Z, 3) voxel indices
    if displacement_vox is not None:
        idx = idx + displacement_vox.permute(0, 2, 3, 4, 1)  # (B, 3, X, Y, Z) -> (B, X, Y, Z, 3)
    size = torch.tensor(volume, dtype=torch.float32, device=device)
    idx.mul_(2 / (size - 1).clamp_min(1)).sub_(1)  # voxel index -> [-1, 1] (align_corners=True)
    return idx.flip(-1)  # grid_sample wants (W, H, D) = (z, y, x) order for input (B, C, X, Y, Z)


def apply_spatial(
    volume: torch.Tensor,
    start: torch.Tensor,
    patch: tuple[int, int, int],
    spacing_mm: tuple[float, float, float],
    angle_deg: torch.Tensor,
    zoom: torch.Tensor,
    displacement_vox: torch.Tensor | None,
    warped: torch.Tensor,
) -> torch.Tensor:
    """volume (1 or B, C, X, Y, Z), start (B, 3) patch corners -> (B, C, *patch).

    Samples with warped[b] False are exact slices volume[b, :, start:start + patch].
    """
    B = start.shape[0]
    if volume.shape[0] not in (1, B):
        raise ValueError(f"volume batch {volume.shape[0]} must be 1 or the number of patches {B}")
    src = volume.expand(B, *volume.shape[1:]) if volume.shape[0] == 1 else volume
    out = volume.new_empty((B, volume.shape[1]) + tuple(patch))
    for b, s in enumerate(start.tolist()):
        if not warped[b]:
            out[b] = src[
                b, :, s[0] : s[0] + patch[0], s[1] : s[1] + patch[1], s[2] : s[2] + patch[2]
            ]
    idx = warped.nonzero().flatten().tolist()
    if idx:
        centre = (start[idx].float() + torch.tensor([(p - 1) / 2 for p in patch])).to(volume.device)
        disp = None if displacement_vox is None else displacement_vox[idx]
        with torch.autocast(volume.device.type, enabled=False):
            grid = sampling_grid(
                centre, angle_deg[idx], zoom[idx], disp, patch, spacing_mm, tuple(volume.shape[2:])
            )
            warped_out = F.grid_sample(
                src[idx].float(), grid, mode="bilinear", padding_mode="border", align_corners=True
            )
        out[idx] = warped_out.to(out.dtype)
    return out
