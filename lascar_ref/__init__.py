"""lascar_ref — reference implementation of "Progressive Learning with Anatomical Priors for
Reliable Left Atrial Scar Segmentation from LGE MRI" (Zhang et al.). See README.md for the
equation map and ../shared/DESIGN.md-derived decisions."""
__version__ = "0.1.0"
