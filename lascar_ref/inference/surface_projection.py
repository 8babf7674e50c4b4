"""The LAScarQS 2022 challenge's projection of scar onto an LA surface — docs/design.md §13.

As LAScarQS2022_evaluate.py (lileitech/AtrialJSQnet) and its tool GenSurfaceScar do (the C++
analogue is GenMeshWallLabel/Generate_MeshWallLabel.cpp there):
  nodes     = the boundary voxels of the LA (`zxhboundary -R 1 420`): LA voxels with a 6-neighbour
              outside the LA
  normal(n) = the gradient of the LA mask smoothed by a Gaussian (`zxhimageop -gau 4`:
              SIGMA_MM = 4), at the node, in mm (index x spacing, which the affine maps to world
              mm by a rotation, so distances are the scanner's)
  hit(n)    = 1 when any probe point node ± k * STEP_MM * normal, k = 0..N_STEPS (0.5 mm steps up
              to 10 mm, both directions), rounded to the nearest voxel and inside the image, is a
              voxel of the mask being projected
  area(n)   = the surface area in mm^2 node n stands for: sum over its exposed faces (6-neighbours
              outside the LA) of the face's area A_k = s_i s_j times |normal_k|, the normal's
              component along the face's axis k (`node_areas`). For a plane with unit normal n,
              the exposed faces along axis k number |n_k| / A_k per mm^2, so the areas sum to
              sum_k n_k^2 = 1 per mm^2 at any orientation and spacing; counting nodes instead
              over-weights the surface facing the slice axis on thick slices (on 0.625 x 0.625
              x 2.5 mm, a cap facing z reads 34-38% of nodes for 25% of the area). A node whose
              smoothed gradient vanishes takes |n_k| = 1/sqrt(3) on every axis.
evaluation/surface.py scores ground truth and prediction projected onto the ground-truth LA
(node-based, as the challenge defines its scores);
inference/scar_report.py projects a prediction onto its own predicted LA (a new scan has no
ground truth). A node whose smoothed gradient vanishes probes only itself; rounding is numpy's
(half to even), the tool's zxh::round may differ on exact halves.
Tests: tests/test_surface.py
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

SIGMA_MM = 4.0  # zxhimageop -gau 4 in LAScarQS2022_evaluate.py
STEP_MM = 0.5  # Generate_MeshWallLabel.cpp: "0.5 mm for each step"
N_STEPS = 20  # steps 0..20: probes up to 10 mm on each side


def surface_nodes(la: np.ndarray) -> np.ndarray:
    """(N, 3) voxel indices of the LA's boundary voxels (LA voxels with a 6-neighbour outside it,
    the volume edge counting as outside: evaluation/metrics.border), in C order."""
    la = np.asarray(la) > 0
    inner = ndimage.binary_erosion(la, structure=ndimage.generate_binary_structure(3, 1))
    return np.argwhere(la & ~inner)


def node_normals(la: np.ndarray, nodes: np.ndarray, spacing, sigma_mm: float = SIGMA_MM):
    """(N, 3) unit normals in mm coordinates: the gradient of the Gaussian-smoothed LA mask (sigma
    in mm on each axis) at each node; (0, 0, 0) where the gradient vanishes."""
    sigma = [sigma_mm / s for s in spacing]
    smooth = ndimage.gaussian_filter(np.asarray(la, dtype=np.float32), sigma=sigma)
    grads = np.gradient(smooth, *spacing)  # d/dmm along each axis
    g = np.stack([gr[tuple(nodes.T)] for gr in grads], axis=1).astype(np.float64)
    mag = np.linalg.norm(g, axis=1, keepdims=True)
    return np.divide(g, mag, out=np.zeros_like(g), where=mag > 0)


def node_areas(la: np.ndarray, nodes: np.ndarray, normals: np.ndarray, spacing) -> np.ndarray:
    """(N,) float64 mm^2 each node (N, 3 voxel indices) of `la` stands for (module docstring),
    from its unit normals (N, 3) in mm coordinates (either sign); the volume edge is outside."""
    la = np.pad(np.asarray(la) > 0, 1)
    s = np.asarray(spacing, dtype=np.float64)
    face = np.array([s[1] * s[2], s[0] * s[2], s[0] * s[1]])  # (3,) mm^2 of a face along x, y, z
    n = np.abs(np.asarray(normals, dtype=np.float64))
    n[~n.any(axis=1)] = 1 / np.sqrt(3)  # no gradient: no preferred direction
    at = np.asarray(nodes) + 1  # into the padded volume
    area = np.zeros(len(at))
    for k in range(3):
        for step in (-1, 1):
            nb = at.copy()
            nb[:, k] += step
            exposed = ~la[tuple(nb.T)]
            area += exposed * face[k] * n[:, k]
    return area


def project(mask: np.ndarray, nodes: np.ndarray, normals: np.ndarray, spacing) -> np.ndarray:
    """(N,) bool: whether any probe point of each node (module docstring) is a voxel of mask."""
    mask = np.asarray(mask) > 0
    spacing = np.asarray(spacing, dtype=np.float64)
    at = nodes * spacing  # (N, 3) mm
    shape = np.asarray(mask.shape)
    hit = np.zeros(len(nodes), dtype=bool)
    for k in range(N_STEPS + 1):
        for sign in (1.0, -1.0):
            idx = np.rint((at + sign * k * STEP_MM * normals) / spacing).astype(np.int64)
            inside = np.all((idx >= 0) & (idx < shape), axis=1)
            hit[inside] |= mask[tuple(idx[inside].T)]
    return hit


def project_onto_surface(la: np.ndarray, masks: list[np.ndarray], spacing) -> list[np.ndarray]:
    """Each mask (X, Y, Z) projected onto the surface nodes of `la`: one (N,) bool array per
    mask, all on the same nodes ([] arrays of length 0 for an empty LA)."""
    nodes = surface_nodes(la)
    if not len(nodes):
        return [np.zeros(0, dtype=bool) for _ in masks]
    normals = node_normals(la, nodes, spacing)
    return [project(m, nodes, normals, spacing) for m in masks]
