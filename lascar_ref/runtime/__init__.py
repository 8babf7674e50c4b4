"""Where and how a run computes: device and AMP, several processes, speed options —
docs/design.md §2, §11."""
