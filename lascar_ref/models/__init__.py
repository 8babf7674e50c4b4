"""SwinUNETR and the dual-decoder model of Eq. (4), written from scratch (docs/design.md §1).

This folder imports only torch and its siblings: the folder is the model.
"""

from .dual_swin_unetr import DualSwinUNETR
from .swin_unetr import SwinUNETR, check_spatial_size

__all__ = ["SwinUNETR", "DualSwinUNETR", "check_spatial_size"]
