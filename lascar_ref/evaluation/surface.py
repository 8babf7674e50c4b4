"""Scar on the LA surface: the LAScarQS 2022 challenge's scar protocol — docs/design.md §13.

The challenge does not score scar voxel-wise. Its evaluation (LAScarQS2022_evaluate.py with
metric.py, lileitech/AtrialJSQnet; the projection is the Windows tool GenSurfaceScar, whose C++
analogue is GenMeshWallLabel/Generate_MeshWallLabel.cpp there) projects the ground-truth and the
predicted scar onto the *ground-truth* LA surface and scores the surface:
  nodes     = the boundary voxels of the ground-truth LA (`zxhboundary -R 1 420`; here
              metrics.border: LA voxels with a 6-neighbour outside the LA)
  normal(n) = the gradient of the ground-truth LA mask smoothed by a Gaussian (`zxhimageop -gau
              4`: SIGMA_MM = 4), at the node, in mm (index x spacing, which the affine maps to
              world mm by a rotation, so distances are those of the scanner)
  scar(n)   = 1 when any probe point node ± k * STEP_MM * normal, k = 0..N_STEPS (0.5 mm steps up
              to 10 mm, both directions), rounded to the nearest voxel and inside the image, is a
              scar voxel of the mask being projected; the same projection for ground truth G and
              prediction P, so both live on the same nodes
With TP, FP, FN, TN counted over the nodes (G = ground-truth scar nodes, W = wall nodes = the
others, n_G = |G|, n_W = |W|):
  surface_dice  = 2 TP / (2 TP + FP + FN)
  surface_sen   = TP / (TP + FN)                         (NaN without ground-truth scar nodes)
  surface_spe   = TN / (TN + FP)  over the nodes         (NaN when every node is scar)
  surface_acc   = (TP + TN) / (n_G + n_W)  over the nodes
  surface_gdice = (n_G Dice_scar + n_W Dice_wall) / (n_G + n_W), Dice_wall the Dice of the wall
                  nodes of P against those of G (metric.calculate_binary_generalized_dice)
  surface_spe_image, surface_acc_image: the challenge's own specificity and accuracy, whose true
                  negatives are every non-scar voxel of the *image* (metric.py applies medpy to the
                  whole surface image), so they sit near 1 whatever the prediction; reported for
                  comparison with published figures, never as our headline
  surface_burden_gt / _pred = n_G / (n_G + n_W) and |P| / (n_G + n_W): the share of surface
                  nodes that are scar. Every node counts once (as in the challenge's surface image),
                  so this burden is node-weighted, not area-weighted: at 0.625 x 0.625 x 2.5 mm
                  a surface facing along z (the slice axis) carries a node per 0.625 x 0.625 mm
                  pixel, one facing along x or y a node per 0.625 x 2.5 mm, so z-facing scar
                  counts up to 4x more per mm^2 (on an LA-sized ball of radius 18 mm, a 25% cap
                  measures 34-38% of the nodes facing z, 22% facing x). It is kept beside the
                  challenge's scores, which are node-based by definition; the burden a
                  clinician reads (inference/scar_report.py) is area-weighted.
Deviation: the official tool also drops nodes whose probe meets the mitral-valve / vein label
(500) of its own LA labelling, which the public data do not include; we keep every node. Both
masks empty on the surface (no ground-truth scar node, none predicted): surface Dice 1 (this
project's convention, metrics.case_metrics); medpy's Dice, used by the challenge, returns 0 there.
A node whose smoothed gradient vanishes (not met on a real LA) probes only itself. Rounding is
numpy's (half to even), the tool's zxh::round may differ on exact halves.
The projection itself (nodes, normals, probes) is inference/surface_projection.py, shared with
predict.py's report. Tests: tests/test_surface.py
"""

from __future__ import annotations

import math

import numpy as np

from ..inference.surface_projection import project_onto_surface

KEYS = (
    "surface_dice",
    "surface_gdice",
    "surface_sen",
    "surface_spe",
    "surface_acc",
    "surface_spe_image",
    "surface_acc_image",
    "surface_burden_gt",
    "surface_burden_pred",
    "surface_nodes",
)


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def node_scores(g: np.ndarray, p: np.ndarray, image_voxels: int) -> dict[str, float]:
    """The scores of projected ground truth g and prediction p (N,) bool on the same nodes;
    image_voxels: the size of the image, for the challenge's whole-image true negatives."""
    n = g.size
    tp, fp = int((g & p).sum()), int((~g & p).sum())
    fn, tn = int((g & ~p).sum()), int((~g & ~p).sum())
    n_g, n_w = tp + fn, tn + fp
    dice = 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
    dice_wall = 1.0 if tn + fp + fn == 0 else 2 * tn / (2 * tn + fp + fn)
    tn_image = tn + (image_voxels - n)  # every voxel off the surface is a true negative there
    return {
        "surface_dice": dice,
        "surface_gdice": _ratio(n_g * dice + n_w * dice_wall, n_g + n_w),
        "surface_sen": _ratio(tp, tp + fn),
        "surface_spe": _ratio(tn, tn + fp),
        "surface_acc": _ratio(tp + tn, n),
        "surface_spe_image": _ratio(tn_image, tn_image + fp),
        "surface_acc_image": _ratio(tp + tn_image, image_voxels),
        "surface_burden_gt": _ratio(n_g, n),
        "surface_burden_pred": _ratio(tp + fp, n),
        "surface_nodes": float(n),
    }


def surface_scores(gt_la: np.ndarray, gt_scar: np.ndarray, pred_scar: np.ndarray, spacing) -> dict:
    """The challenge's surface scores of one case (module docstring): ground-truth and predicted
    scar (X, Y, Z) projected onto the ground-truth LA's surface; all NaN for an empty LA."""
    g, p = project_onto_surface(gt_la, [gt_scar, pred_scar], spacing)
    if not g.size:
        return {k: math.nan for k in KEYS}
    return node_scores(g, p, int(np.asarray(gt_la).size))
