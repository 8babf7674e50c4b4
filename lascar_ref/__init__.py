"""lascar_ref — reference implementation of "Progressive Learning with Anatomical Priors for
Reliable Left Atrial Scar Segmentation from LGE MRI" (Zhang et al.). README.md keeps the equation
map; docs/design.md records every decision the paper leaves open."""

__version__ = "0.1.0"
