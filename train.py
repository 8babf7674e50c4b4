"""train.py — Stages I, II, III (paper §3.2, DESIGN.md §2): not yet implemented (training issue)."""
import sys

if __name__ == "__main__":
    sys.exit("train.py: not yet implemented (the training issue has not landed). "
             "The model is usable from Python: lascar_ref.models.SwinUNETR / DualSwinUNETR.")
