"""Table 1 augmentations and Eq. (2) composition (DESIGN.md §4) — not yet implemented (issue 4)."""
